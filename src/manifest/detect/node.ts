import { CONFIG_EXTENSIONS, entryFiles, NODE_CONFIG_STEMS, NODE_PLAIN_FILES } from './node-facts.js';
import { planNode } from './node-plan.js';
import { dependencyCount, toPackageJson, type PackageJson } from './node-package.js';
import { detectNodeToolchain, nodeCommands, type NodeToolchain } from './node-toolchain.js';
import { fileIn, readIn, readJsonObject, shellQuote, upToRoot, type Scope } from './read.js';
import type { DetectedService } from './types.js';

/** The monorepo a workspace package belongs to, read once at its root. */
export interface NodeWorkspace {
  root: Scope;
  rootPkg: PackageJson;
  /** The task runner that builds packages with their dependencies first. */
  tool?: 'turbo' | 'nx';
  toolchain: NodeToolchain;
}

export type NodeResult =
  | { kind: 'service'; pkg: PackageJson; service: Omit<DetectedService, 'name'> }
  | { kind: 'skip'; pkg: PackageJson; reason: string };

export async function readPackageJson(scope: Scope): Promise<PackageJson | undefined> {
  const value = await readJsonObject(scope, 'package.json');
  return value ? toPackageJson(value) : undefined;
}

/** Files of the package folder and its src/, as relative paths; top-level folders end in `/`. */
async function packageFiles(scope: Scope): Promise<Set<string>> {
  const files = new Set<string>();
  for (const entry of await scope.tree.list(scope.dir)) files.add(entry.kind === 'file' ? entry.name : `${entry.name}/`);
  for (const entry of await scope.tree.list(fileIn(scope, 'src'))) if (entry.kind === 'file') files.add(`src/${entry.name}`);
  return files;
}

async function readPackageTexts(scope: Scope, pkg: PackageJson, files: Set<string>): Promise<Map<string, string>> {
  const wanted = [
    ...NODE_CONFIG_STEMS.flatMap((stem) => CONFIG_EXTENSIONS.map((extension) => `${stem}.${extension}`)),
    ...NODE_PLAIN_FILES,
    ...entryFiles(pkg),
  ];
  const texts = new Map<string, string>();
  for (const file of wanted) {
    if (texts.has(file)) continue;
    // Entry files named by package.json may sit deeper than src/, so ask the tree about those.
    if (!files.has(file) && !(await scope.tree.isFile(fileIn(scope, file)))) continue;
    files.add(file);
    const text = await readIn(scope, file, 256 * 1024);
    if (text !== undefined) texts.set(file, text);
  }
  return texts;
}

function workspaceBuild(workspace: NodeWorkspace, pkg: PackageJson, dir: string): string {
  const name = shellQuote(pkg.name ?? dir);
  const commands = nodeCommands(workspace.toolchain);
  let command: string;
  if (workspace.tool === 'turbo') command = commands.exec('turbo', `run build --filter=${name}`);
  else if (workspace.tool === 'nx') command = commands.exec('nx', `run ${name}:build`);
  else {
    switch (workspace.toolchain.packageManager) {
      case 'pnpm':
        command = `pnpm --filter ${shellQuote(`${pkg.name ?? dir}...`)} run build`;
        break;
      case 'yarn':
        command = `yarn workspace ${name} run build`;
        break;
      case 'bun':
        command = `bun run --filter ${name} build`;
        break;
      case 'npm':
        command = `npm run build --workspace=${shellQuote(dir)}`;
        break;
    }
  }
  return `cd ${upToRoot(dir)} && ${command}`;
}

/**
 * Detects the Node app in `scope.dir` (a single package, or one workspace package when
 * `workspace` is given). Undefined when there is no readable package.json.
 */
export async function detectNode(scope: Scope, workspace?: NodeWorkspace): Promise<NodeResult | undefined> {
  const pkg = await readPackageJson(scope);
  if (!pkg) return undefined;
  const toolchain = workspace?.toolchain ?? (await detectNodeToolchain([scope], [pkg]));
  const commands = nodeCommands(toolchain);
  const files = await packageFiles(scope);
  const texts = await readPackageTexts(scope, pkg, files);
  const decision = planNode({
    dir: scope.dir,
    pkg,
    files,
    texts,
    packageManager: toolchain.packageManager,
    commands,
    member: workspace !== undefined,
    workspaceBuild: workspace ? workspaceBuild(workspace, pkg, scope.dir) : undefined,
  });
  if (decision.kind === 'skip') return { kind: 'skip', pkg, reason: decision.reason };

  const { plan } = decision;
  const notes = [...plan.notes];
  const needsInstall = dependencyCount(pkg) > 0 || (workspace !== undefined && dependencyCount(workspace.rootPkg) > 0);
  let install: string | undefined;
  if (needsInstall) {
    install = workspace ? `cd ${upToRoot(scope.dir)} && ${commands.install}` : commands.install;
    if (toolchain.strayLockfiles) {
      notes.push(`${toolchain.strayLockfiles.join(' and ')} also found; remove lockfiles of package managers other than ${toolchain.packageManager}`);
    }
    if (!toolchain.lockfile) {
      notes.push(`no ${toolchain.packageManager} lockfile found; commit one so every build installs the same versions`);
    }
  }
  return {
    kind: 'service',
    pkg,
    service: {
      path: scope.dir,
      runtime: plan.runtime,
      framework: plan.framework,
      packageManager: toolchain.packageManager,
      ...(toolchain.evidence ? { packageManagerEvidence: toolchain.evidence } : {}),
      ...(install ? { install } : {}),
      ...(plan.build ? { build: plan.build } : {}),
      ...(plan.start ? { start: plan.start } : {}),
      ...(plan.staticDir ? { staticDir: plan.staticDir } : {}),
      port: plan.port,
      ...(plan.health ? { health: plan.health } : {}),
      ...(plan.env ? { env: plan.env } : {}),
      evidence: toolchain.evidence ? [...plan.evidence, toolchain.evidence] : plan.evidence,
      notes,
    },
  };
}
