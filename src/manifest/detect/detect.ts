import { stat } from 'node:fs/promises';
import path from 'node:path';
import { MaestroError } from '../../common/errors.js';
import { detectFolder } from './folder.js';
import { LOOKED_FOR } from './looked-for.js';
import { detectMonorepo } from './monorepo.js';
import { dnsLabel, uniqueName } from './names.js';
import { fileIn, isRecord, readIn, scopeAt, type Scope } from './read.js';
import { diskTree, type SourceTree } from './source-tree.js';
import { parseTomlLite, tomlString, tomlTable } from './toml-lite.js';
import type { DetectedService, Detection, SkippedPackage } from './types.js';

/** Top-level folders that hold tooling or output, never an app to deploy on its own. */
const NOT_APP_FOLDERS = new Set([
  'node_modules', 'vendor', 'dist', 'build', 'out', 'target', 'bin', 'obj', 'tmp', 'coverage',
  'docs', 'doc', 'test', 'tests', 'spec', 'scripts', 'examples', 'example', 'fixtures', 'public', 'static',
]);


/** The project's own name where a manifest states one, else the folder's. */
async function projectName(root: Scope, folderName: string): Promise<string> {
  const candidates: Array<string | undefined> = [];
  try {
    const pkg: unknown = JSON.parse((await readIn(root, 'package.json')) ?? 'null');
    if (isRecord(pkg) && typeof pkg.name === 'string') candidates.push(pkg.name);
  } catch {
    // An unreadable package.json is reported by the Node detector.
  }
  const pyproject = await readIn(root, 'pyproject.toml');
  if (pyproject) {
    const doc = parseTomlLite(pyproject);
    candidates.push(tomlString(tomlTable(doc, 'project')?.entries.get('name') ?? tomlTable(doc, 'tool.poetry')?.entries.get('name')));
  }
  const cargo = await readIn(root, 'Cargo.toml');
  if (cargo) candidates.push(tomlString(tomlTable(parseTomlLite(cargo), 'package')?.entries.get('name')));
  const goMod = await readIn(root, 'go.mod');
  if (goMod) candidates.push(/^\s*module\s+(\S+)/m.exec(goMod)?.[1]?.split('/').pop());
  const chosen = candidates.find((name) => name && dnsLabel(name, '') !== '');
  return dnsLabel(chosen ?? folderName, dnsLabel(folderName));
}

/** Apps in sub-folders (frontend/, backend/, api/) of a folder that is none itself. */
async function detectSubfolders(root: Scope): Promise<DetectedService[]> {
  const services: DetectedService[] = [];
  const taken = new Set<string>();
  const dirs: string[] = [];
  for (const entry of await root.tree.list(root.dir)) {
    if (entry.kind !== 'dir' || entry.name.startsWith('.') || NOT_APP_FOLDERS.has(entry.name.toLowerCase())) continue;
    if (entry.name === 'apps' || entry.name === 'services' || entry.name === 'packages') {
      for (const inner of await root.tree.list(fileIn(root, entry.name))) {
        if (inner.kind === 'dir' && !inner.name.startsWith('.')) dirs.push(`${entry.name}/${inner.name}`);
      }
    } else dirs.push(entry.name);
  }
  for (const dir of dirs.slice(0, 40)) {
    const result = await detectFolder(scopeAt(root, dir));
    if (result.service) services.push({ name: uniqueName(dnsLabel(path.posix.basename(dir)), taken), ...result.service });
  }
  return services;
}

/** Two apps pinned to one port cannot run side by side; the manifest would be refused, so say why. */
function portClashes(services: DetectedService[]): string[] {
  const owners = new Map<number, string[]>();
  for (const service of services) {
    if (typeof service.port !== 'number' || service.runtime === 'static') continue;
    owners.set(service.port, [...(owners.get(service.port) ?? []), service.name]);
  }
  return [...owners.entries()]
    .filter(([, names]) => names.length > 1)
    .map(([port, names]) => `services ${names.join(', ')} all listen on fixed port ${port}; make them read PORT so Maestro can give each its own`);
}

function uniqueProblems(problems: string[]): string[] {
  return [...new Set(problems)];
}

/** Detects the apps of a folder held by `tree`; `folderName` names the project when nothing else does. */
export async function detectTree(tree: SourceTree, folderName: string): Promise<Detection> {
  const problems: string[] = [];
  const root: Scope = { tree, dir: '.', problems };
  const project = await projectName(root, folderName);
  const finish = (services: DetectedService[], skipped: SkippedPackage[] = []): Detection => ({
    project,
    services,
    problems: uniqueProblems([...problems, ...tree.problems, ...portClashes(services)]),
    ...(skipped.length > 0 ? { skipped } : {}),
  });

  const monorepo = await detectMonorepo(root);
  if (monorepo && monorepo.services.length > 0) return finish(monorepo.services, monorepo.skipped);

  const single = await detectFolder(root);
  if (single.service) return finish([{ name: 'web', ...single.service }], monorepo?.skipped);

  const nested = await detectSubfolders(root);
  if (nested.length > 0) return finish(nested);

  if (monorepo) {
    problems.push(
      `the workspace lists ${monorepo.skipped.length} package(s) but none is an app (each needs a start script or an app framework): ` +
        monorepo.skipped.map((entry) => `${entry.path} (${entry.reason})`).join('; '),
    );
  }
  problems.push(...single.hints);
  if (problems.length === 0 && tree.problems.length === 0) {
    const entries = await tree.list('.');
    problems.push(
      entries.length === 0
        ? 'the folder is empty: there is no app to deploy yet'
        : `no app found: Maestro looked for ${LOOKED_FOR} and found none it could run`,
    );
  }
  return finish([], monorepo?.skipped);
}

/** Detects the apps of a folder on disk, for `maestro init`. */
export async function detect(dir: string): Promise<Detection> {
  const absolute = path.resolve(dir);
  let info;
  try {
    info = await stat(absolute);
  } catch {
    throw new MaestroError('not_found', `${dir} does not exist; give the folder of the app to detect`);
  }
  if (!info.isDirectory()) throw new MaestroError('validation_error', `${dir} is a file; give the folder of the app to detect`);
  return detectTree(diskTree(absolute), path.basename(absolute));
}
