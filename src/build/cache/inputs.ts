/**
 * The digest of what a service's build reads: the files of its folder, the folders of the workspace
 * packages it depends on (transitively), and the loose files at the workspace root (root
 * package.json, tsconfig.base.json, turbo.json, ...). Other apps of the monorepo are left out, so
 * changing them does not rebuild this one. The tree is walked with the same ignore rules source
 * packing uses, so the digest covers exactly what an upload would hold.
 */
import { createHash, type Hash } from 'node:crypto';
import { constants } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MaestroError } from '../../common/index.js';
import { collectTree, type TreeEntry } from '../collect-tree.js';
import { normalizeEntryPath, parentOf, printable } from '../tree-paths.js';
import { matchWorkspaceFolders, packageFacts, pnpmWorkspacePatterns, workspaceDependencies, type WorkspaceMember } from './workspace.js';

const DIGEST_FORMAT = 'maestro-inputs-v1';

export interface ServiceInputs {
  /** sha256 (hex) over the paths, kinds, modes and contents of every input. */
  digest: string;
  /** Folders (relative to the source root) of the workspace packages the service uses, sorted. */
  packages: string[];
  /** The workspace root ("" for the source root) when the service sits in a workspace. */
  workspaceRoot?: string;
  /** Files and links that went into the digest. */
  files: number;
}

export async function serviceInputsDigest(sourceRoot: string, servicePath: string): Promise<ServiceInputs> {
  const service = normalizeEntryPath(servicePath, 'service path');
  const entries = await collectTree(sourceRoot, { ignoreRules: true });
  const byPath = new Map(entries.map((entry) => [entry.path, entry]));
  if (service !== '' && byPath.get(service)?.kind !== 'dir') {
    throw new MaestroError('validation_error', `the service path "${printable(servicePath)}" is not a folder of the source (or it is ignored); check \`path\` in maestro.yml`, {
      servicePath: printable(servicePath),
    });
  }

  const workspace = await findWorkspace(sourceRoot, service, byPath);
  const packages = workspace ? await usedPackages(sourceRoot, service, workspace, entries, byPath) : [];
  const included = (entry: TreeEntry): boolean =>
    within(entry.path, service) ||
    packages.some((folder) => within(entry.path, folder)) ||
    // The root's own files (not its folders) configure every package's build.
    (workspace !== undefined && entry.kind !== 'dir' && parentOf(entry.path) === workspace.root);

  const hash = createHash('sha256').update(`${DIGEST_FORMAT}\0`);
  let files = 0;
  for (const entry of entries) {
    if (!included(entry)) continue;
    if (entry.kind !== 'dir') files += 1;
    await hashEntry(hash, entry);
  }
  return {
    digest: hash.digest('hex'),
    packages,
    ...(workspace ? { workspaceRoot: workspace.root } : {}),
    files,
  };
}

/**
 * For each service folder, the workspace packages it uses and its workspace root, as the digest
 * counts them, without hashing anything (which services a change touches). The tree is walked once.
 */
export async function serviceWorkspaces(sourceRoot: string, servicePaths: readonly string[]): Promise<Array<Pick<ServiceInputs, 'packages' | 'workspaceRoot'>>> {
  const entries = await collectTree(sourceRoot, { ignoreRules: true });
  const byPath = new Map(entries.map((entry) => [entry.path, entry]));
  const results: Array<Pick<ServiceInputs, 'packages' | 'workspaceRoot'>> = [];
  for (const servicePath of servicePaths) {
    const service = normalizeEntryPath(servicePath, 'service path');
    const workspace = service === '' || byPath.get(service)?.kind === 'dir' ? await findWorkspace(sourceRoot, service, byPath) : undefined;
    const packages = workspace ? await usedPackages(sourceRoot, service, workspace, entries, byPath) : [];
    results.push({ packages, ...(workspace ? { workspaceRoot: workspace.root } : {}) });
  }
  return results;
}

interface Workspace {
  root: string;
  patterns: string[];
}

/** The nearest folder at or above the service that declares workspaces. */
async function findWorkspace(sourceRoot: string, service: string, byPath: ReadonlyMap<string, TreeEntry>): Promise<Workspace | undefined> {
  for (let folder = service; ; folder = parentOf(folder)) {
    const patterns: string[] = [];
    const pnpmFile = joinPath(folder, 'pnpm-workspace.yaml');
    if (byPath.get(pnpmFile)?.kind === 'file') patterns.push(...pnpmWorkspacePatterns(await readFile(join(sourceRoot, pnpmFile), 'utf8'), pnpmFile));
    const packageFile = joinPath(folder, 'package.json');
    if (byPath.get(packageFile)?.kind === 'file') patterns.push(...packageFacts(await readFile(join(sourceRoot, packageFile), 'utf8'), packageFile).workspaces);
    if (patterns.length > 0) return { root: folder, patterns };
    if (folder === '') return undefined;
  }
}

async function usedPackages(
  sourceRoot: string,
  service: string,
  workspace: Workspace,
  entries: readonly TreeEntry[],
  byPath: ReadonlyMap<string, TreeEntry>,
): Promise<string[]> {
  const folders = entries
    .filter((entry) => entry.kind === 'dir' && within(entry.path, workspace.root) && entry.path !== workspace.root)
    .map((entry) => relativeTo(workspace.root, entry.path));
  const members: WorkspaceMember[] = [];
  for (const relative of matchWorkspaceFolders(workspace.patterns, folders)) {
    const folder = joinPath(workspace.root, relative);
    const facts = await readPackage(sourceRoot, folder, byPath);
    if (facts) members.push({ folder, ...facts });
  }
  const own = await readPackage(sourceRoot, service, byPath);
  if (!own) return [];
  // Packages inside the service's folder are hashed with it already.
  return workspaceDependencies(own, members, service).filter((folder) => !within(folder, service));
}

async function readPackage(sourceRoot: string, folder: string, byPath: ReadonlyMap<string, TreeEntry>): Promise<{ name?: string; dependsOn: string[] } | undefined> {
  const file = joinPath(folder, 'package.json');
  if (byPath.get(file)?.kind !== 'file') return undefined;
  const { name, dependsOn } = packageFacts(await readFile(join(sourceRoot, file), 'utf8'), file);
  return { ...(name === undefined ? {} : { name }), dependsOn };
}

/** Each entry as a length-prefixed record, so no two different trees can hash the same bytes. */
async function hashEntry(hash: Hash, entry: TreeEntry): Promise<void> {
  const fields =
    entry.kind === 'dir'
      ? ['dir', entry.path]
      : entry.kind === 'symlink'
        ? ['symlink', entry.path, entry.target]
        : ['file', entry.path, entry.mode.toString(8), await fileDigest(entry.absolute, entry.size)];
  for (const field of fields) {
    const bytes = Buffer.from(field, 'utf8');
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    hash.update(length).update(bytes);
  }
}

async function fileDigest(absolute: string, size: number): Promise<string> {
  // O_NOFOLLOW: a file swapped for a link since the walk must not pull in what the link points to.
  const handle = await open(absolute, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const hash = createHash('sha256');
    let read = 0;
    for await (const chunk of handle.createReadStream({ autoClose: false }) as AsyncIterable<Buffer>) {
      read += chunk.length;
      hash.update(chunk);
    }
    if (read !== size) throw new MaestroError('conflict', `"${printable(absolute)}" changed while the build inputs were being read; try again once nothing writes to the folder`);
    return hash.digest('hex');
  } finally {
    await handle.close();
  }
}

function within(path: string, folder: string): boolean {
  return folder === '' || path === folder || path.startsWith(`${folder}/`);
}

function relativeTo(folder: string, path: string): string {
  return folder === '' ? path : path.slice(folder.length + 1);
}

function joinPath(folder: string, name: string): string {
  return folder === '' ? name : `${folder}/${name}`;
}
