/**
 * Finds and reads the lockfiles that pin a service's dependencies, and hands each to its reader.
 * Which ones apply:
 * - Node: the nearest folder at or above the service with a Node lockfile, when that is the
 *   service's own folder or a workspace root that has the service among its packages (the build
 *   cache and the npm lockfile check find them the same way).
 * - Python: uv.lock, poetry.lock or requirements*.txt in the service's folder; a uv.lock above it
 *   when the service is a uv workspace member (it has its own pyproject.toml).
 * - Go: go.mod and go.sum in the service's folder, or in the nearest folder above when the service
 *   is a package of that module (its folder holds .go files and no go.mod).
 * Reading never throws: what cannot be read becomes a problem.
 */
import { createHash } from 'node:crypto';
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { findLockfiles } from '../../build/cache/lockfiles.js';
import { matchWorkspaceFolders, pnpmWorkspacePatterns } from '../../build/cache/workspace.js';
import { collectTree } from '../../build/collect-tree.js';
import { normalizeEntryPath, parentOf, printable } from '../../build/tree-paths.js';
import { errorMessage } from '../../common/index.js';
import type { LockfileGraph, Problem, Scope } from './model.js';
import { readGoModules } from './readers/go-modules.js';
import { declaresDependencies, readNodeManifest, type NodeManifest } from './readers/node-manifest.js';
import { readNpmLockfile } from './readers/npm-lock.js';
import { readPnpmLockfile } from './readers/pnpm-lock.js';
import { readPoetryLock } from './readers/poetry-lock.js';
import { readPyproject, type PyprojectFacts } from './readers/pyproject.js';
import { readRequirements } from './readers/requirements.js';
import { readUvLock } from './readers/uv-lock.js';
import { readYarnLockfile } from './readers/yarn-lock.js';

export interface SbomInputs {
  /** Every file read (lockfiles and the manifests that classify them), with its sha256, by path. */
  files: Array<{ path: string; sha256: string }>;
  /** Each lockfile read, with what its reader made of it. */
  graphs: Array<{ file: string; graph: LockfileGraph }>;
  problems: Problem[];
  /** go.mod's module path, when the service is a Go module. */
  goModule?: string;
}

/** npm reads npm-shrinkwrap.json before package-lock.json; one of each manager's lockfile is read. */
const NODE_LOCKFILES = ['npm-shrinkwrap.json', 'package-lock.json', 'pnpm-lock.yaml', 'yarn.lock', 'bun.lock', 'bun.lockb'];
const NOT_READ: Record<string, string> = {
  'bun.lock': 'Bun',
  'bun.lockb': 'Bun',
  'Pipfile.lock': 'Pipenv',
  'Gemfile.lock': 'Bundler',
  'Cargo.lock': 'Cargo',
};
const REQUIREMENTS = /^requirements[^/]*\.txt$/;
/** Requirements files of these names are for development; what they pin never runs in production. */
const DEVELOPMENT_REQUIREMENTS = /(^|[-_.])(dev|develop|development|test|tests|testing|lint|docs?|ci|typing)([-_.]|$)/;

export async function readSbomInputs(root: string, servicePath: string): Promise<SbomInputs> {
  const inputs: SbomInputs = { files: [], graphs: [], problems: [] };
  let service: string;
  try {
    service = normalizeEntryPath(servicePath, 'service path');
  } catch (error) {
    inputs.problems.push({ file: printable(servicePath), message: errorMessage(error) });
    return inputs;
  }
  const reader = new TreeReader(root, inputs);
  let lockfiles: string[];
  try {
    lockfiles = (await findLockfiles(root, service)).map((found) => found.path);
  } catch (error) {
    inputs.problems.push({ file: service || '.', message: `could not be searched for lockfiles (${errorMessage(error)})` });
    return inputs;
  }
  const serviceNames = await reader.names(service);
  // Bun's lockfiles are Node's: readNode reports them when they are the ones that apply.
  for (const name of serviceNames) if (NOT_READ[name] && !NODE_LOCKFILES.includes(name)) reader.problem(notRead(joinPath(service, name)));
  await readNode(reader, service, lockfiles);
  await readPython(reader, service, serviceNames, lockfiles);
  await readGo(reader, service, serviceNames, lockfiles);
  inputs.files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return inputs;
}

async function readNode(reader: TreeReader, service: string, lockfiles: readonly string[]): Promise<void> {
  const ownManifest = await reader.nodeManifest(joinPath(service, 'package.json'));
  for (let folder = service; ; folder = parentOf(folder)) {
    const found = NODE_LOCKFILES.filter((name) => lockfiles.includes(joinPath(folder, name)));
    if (found.length > 0) {
      const workspace = await reader.nodeWorkspace(folder);
      const importer = relativeTo(folder, service);
      if (folder === service || workspace.has(importer)) {
        await readNodeLockfile(reader, folder, found, importer, workspace);
        return;
      }
      // The nearest lockfile is another project's: the service has none of its own.
      break;
    }
    if (folder === '') break;
  }
  if (ownManifest && declaresDependencies(ownManifest)) {
    reader.problem({
      file: joinPath(service, 'package.json'),
      message: 'declares dependencies but no lockfile pins them (package-lock.json, pnpm-lock.yaml or yarn.lock, beside it or at its workspace root); run npm install and commit package-lock.json',
    });
  }
}

async function readNodeLockfile(reader: TreeReader, folder: string, found: readonly string[], importer: string, workspace: Map<string, NodeManifest>): Promise<void> {
  const [chosen, ...others] = found;
  const file = joinPath(folder, chosen!);
  if (others.length > 0) {
    reader.problem({ file: folder || '.', message: `has several Node lockfiles (${found.join(', ')}); the SBOM follows ${chosen}, but which one the install follows is not certain: remove the others` });
  }
  if (NOT_READ[chosen!]) {
    reader.problem(notRead(file));
    return;
  }
  const text = await reader.text(file);
  if (text === undefined) return;
  const manifests = Object.fromEntries(workspace);
  const workspacePackages = Object.fromEntries([...workspace].map(([member, manifest]) => [member, { ...(manifest.name ? { name: manifest.name } : {}), ...(manifest.version ? { version: manifest.version } : {}) }]));
  const graph =
    chosen === 'pnpm-lock.yaml'
      ? readPnpmLockfile(text, { file, importer, workspacePackages })
      : chosen === 'yarn.lock'
        ? readYarnLockfile(text, { file, importer, manifests })
        : readNpmLockfile(text, { file, importer });
  reader.graph(file, graph);
}

async function readPython(reader: TreeReader, service: string, serviceNames: readonly string[], lockfiles: readonly string[]): Promise<void> {
  const pyprojectPath = joinPath(service, 'pyproject.toml');
  const pyproject = serviceNames.includes('pyproject.toml') ? await reader.pyproject(pyprojectPath) : undefined;
  if (lockfiles.includes(joinPath(service, 'uv.lock'))) return readUv(reader, service, service);
  if (lockfiles.includes(joinPath(service, 'poetry.lock'))) {
    const file = joinPath(service, 'poetry.lock');
    const text = await reader.text(file);
    if (text !== undefined) reader.graph(file, readPoetryLock(text, { file, ...(pyproject ? { pyproject } : {}) }));
    return;
  }
  const requirements = serviceNames.filter((name) => REQUIREMENTS.test(name) && lockfiles.includes(joinPath(service, name))).sort();
  if (requirements.length > 0) {
    const seen = new Set<string>();
    const isDevelopment = (name: string): boolean => DEVELOPMENT_REQUIREMENTS.test(name.replace(/\.txt$/, ''));
    // Production files first: a development file that includes one (-r requirements.txt) does not make it development-only.
    for (const name of [...requirements.filter((name) => !isDevelopment(name)), ...requirements.filter(isDevelopment)]) {
      await readRequirementsFile(reader, joinPath(service, name), isDevelopment(name) ? 'excluded' : 'required', seen);
    }
    return;
  }
  // A uv workspace member is locked at the workspace root.
  if (pyproject !== undefined) {
    for (let folder = service; folder !== ''; ) {
      folder = parentOf(folder);
      if (lockfiles.includes(joinPath(folder, 'uv.lock'))) return readUv(reader, folder, service);
    }
    if (pyproject.dependencies.length > 0) {
      reader.problem({ file: pyprojectPath, message: 'declares dependencies but no lockfile pins them (uv.lock, poetry.lock or requirements.txt with == pins); lock them and commit the lockfile' });
    }
  }
}

async function readUv(reader: TreeReader, folder: string, service: string): Promise<void> {
  const file = joinPath(folder, 'uv.lock');
  const text = await reader.text(file);
  if (text !== undefined) reader.graph(file, readUvLock(text, { file, importer: relativeTo(folder, service) }));
}

/** A requirements file and the files it includes with -r (inside the source, each once). */
async function readRequirementsFile(reader: TreeReader, file: string, scope: Scope, seen: Set<string>): Promise<void> {
  if (seen.has(file)) return;
  seen.add(file);
  const text = await reader.text(file);
  if (text === undefined) return;
  const reading = readRequirements(text, { file, scope });
  reader.graph(file, reading);
  for (const include of reading.includes) {
    const target = posix.normalize(posix.join(parentOf(file), include.path));
    if (target.startsWith('../') || target.startsWith('/') || target === '..') {
      reader.problem({ file, line: include.line, message: `includes "${include.path}", which is outside the source; its requirements are not in the SBOM` });
      continue;
    }
    if (!(await reader.isFile(target))) {
      reader.problem({ file, line: include.line, message: `includes "${include.path}", which does not exist` });
      continue;
    }
    await readRequirementsFile(reader, target, scope, seen);
  }
}

async function readGo(reader: TreeReader, service: string, serviceNames: readonly string[], lockfiles: readonly string[]): Promise<void> {
  let folder: string | undefined;
  if (serviceNames.includes('go.mod') || serviceNames.includes('go.sum')) folder = service;
  else if (serviceNames.some((name) => name.endsWith('.go')) && service !== '') {
    for (let above = parentOf(service); ; above = parentOf(above)) {
      if (lockfiles.includes(joinPath(above, 'go.mod'))) {
        folder = above;
        break;
      }
      if (above === '') break;
    }
  }
  if (folder === undefined) return;
  const goModFile = joinPath(folder, 'go.mod');
  const goSumFile = joinPath(folder, 'go.sum');
  const goMod = lockfiles.includes(goModFile) ? await reader.text(goModFile) : undefined;
  const goSum = lockfiles.includes(goSumFile) ? await reader.text(goSumFile) : undefined;
  if (goMod === undefined && goSum === undefined) return;
  const reading = readGoModules(goMod, goSum, { goModFile, goSumFile });
  reader.graph(goMod !== undefined ? goModFile : goSumFile, reading);
  if (reading.module) reader.inputs.goModule = reading.module;
}

/** Reads files of the source tree (regular files only, never through links), recording each one's digest. */
class TreeReader {
  private readonly manifests = new Map<string, NodeManifest | undefined>();

  constructor(
    private readonly root: string,
    readonly inputs: SbomInputs,
  ) {}

  problem(problem: Problem): void {
    this.inputs.problems.push(problem);
  }

  graph(file: string, graph: LockfileGraph): void {
    this.inputs.graphs.push({ file, graph });
    this.inputs.problems.push(...graph.problems);
  }

  async names(folder: string): Promise<string[]> {
    return (await readdir(join(this.root, folder)).catch(() => [] as string[])).sort();
  }

  async isFile(path: string): Promise<boolean> {
    return (await lstat(join(this.root, path)).catch(() => undefined))?.isFile() ?? false;
  }

  /** The file's text, recorded among the inputs; undefined (and a problem) when it cannot be read. */
  async text(path: string): Promise<string | undefined> {
    try {
      if (!(await this.isFile(path))) throw new Error('it is not a regular file');
      const bytes = await readFile(join(this.root, path));
      if (!this.inputs.files.some((file) => file.path === path)) this.inputs.files.push({ path, sha256: createHash('sha256').update(bytes).digest('hex') });
      return bytes.toString('utf8');
    } catch (error) {
      this.problem({ file: path, message: `could not be read (${errorMessage(error)})` });
      return undefined;
    }
  }

  /** A package.json, once per path; undefined when there is none (a broken one is a problem). */
  async nodeManifest(path: string): Promise<NodeManifest | undefined> {
    if (this.manifests.has(path)) return this.manifests.get(path);
    let manifest: NodeManifest | undefined;
    if (await this.isFile(path)) {
      const text = await this.text(path);
      if (text !== undefined) {
        const read = readNodeManifest(text, path);
        if ('problem' in read) this.problem(read.problem);
        else manifest = read.manifest;
      }
    }
    this.manifests.set(path, manifest);
    return manifest;
  }

  async pyproject(path: string): Promise<PyprojectFacts | undefined> {
    const text = await this.text(path);
    if (text === undefined) return undefined;
    const read = readPyproject(text, path);
    if ('problem' in read) {
      this.problem(read.problem);
      return undefined;
    }
    return read.facts;
  }

  /**
   * The package.json of a Node lockfile's folder and of its workspace packages (npm and yarn
   * `workspaces`, pnpm-workspace.yaml), by folder relative to it ('' for the folder itself).
   */
  async nodeWorkspace(folder: string): Promise<Map<string, NodeManifest>> {
    const members = new Map<string, NodeManifest>();
    const rootManifest = await this.nodeManifest(joinPath(folder, 'package.json'));
    if (rootManifest) members.set('', rootManifest);
    const patterns = [...(rootManifest?.workspaces ?? [])];
    const pnpmFile = joinPath(folder, 'pnpm-workspace.yaml');
    if (await this.isFile(pnpmFile)) {
      const text = await this.text(pnpmFile);
      try {
        if (text !== undefined) patterns.push(...pnpmWorkspacePatterns(text, pnpmFile));
      } catch (error) {
        this.problem({ file: pnpmFile, message: errorMessage(error) });
      }
    }
    if (patterns.length === 0) return members;
    let folders: string[];
    try {
      folders = (await collectTree(join(this.root, folder), { ignoreRules: true })).filter((entry) => entry.kind === 'dir').map((entry) => entry.path);
    } catch (error) {
      this.problem({ file: folder || '.', message: `could not be searched for workspace packages (${errorMessage(error)})` });
      return members;
    }
    for (const member of matchWorkspaceFolders(patterns, folders)) {
      const manifest = await this.nodeManifest(joinPath(folder, member, 'package.json'));
      if (manifest) members.set(member, manifest);
    }
    return members;
  }
}

function notRead(file: string): Problem {
  const manager = NOT_READ[file.slice(file.lastIndexOf('/') + 1)] ?? 'these';
  return { file, message: `is not read (${manager} lockfiles are not supported): the packages it pins are not in the SBOM` };
}

function joinPath(...parts: string[]): string {
  return parts.filter((part) => part !== '').join('/');
}

function relativeTo(folder: string, path: string): string {
  return folder === '' ? path : path === folder ? '' : path.slice(folder.length + 1);
}
