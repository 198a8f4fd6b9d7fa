import type { PackageJson } from './node-package.js';
import { fileIn, readIn, type Scope } from './read.js';
import type { Evidence } from './types.js';

export type NodePackageManager = 'npm' | 'pnpm' | 'yarn' | 'bun';

export interface NodeToolchain {
  packageManager: NodePackageManager;
  /** Why this package manager; absent when npm was assumed for want of any sign. */
  evidence?: Evidence;
  /** The lockfile found (path from the root), if any: installs are frozen only with one. */
  lockfile?: string;
  /** Yarn 2+ ("berry") takes `--immutable`, Yarn 1 `--frozen-lockfile`. */
  yarnBerry: boolean;
  /** Lockfiles of other package managers lying next to the chosen one: a sign of a stale file. */
  strayLockfiles?: string[];
}

const LOCKFILES: ReadonlyArray<[string, NodePackageManager]> = [
  ['pnpm-lock.yaml', 'pnpm'],
  ['bun.lock', 'bun'],
  ['bun.lockb', 'bun'],
  ['yarn.lock', 'yarn'],
  ['package-lock.json', 'npm'],
  ['npm-shrinkwrap.json', 'npm'],
];

function fromPackageManagerField(field: string | undefined): { pm: NodePackageManager; major: number } | undefined {
  const match = /^(npm|pnpm|yarn|bun)@(\d+)?/.exec(field?.trim() ?? '');
  if (!match) return undefined;
  return { pm: match[1] as NodePackageManager, major: Number(match[2] ?? 0) };
}

/** Every lockfile of the nearest folder that has any, in LOCKFILES order. */
async function findLockfiles(scopes: Scope[]): Promise<Array<{ file: string; pm: NodePackageManager }>> {
  for (const scope of scopes) {
    const found: Array<{ file: string; pm: NodePackageManager }> = [];
    for (const [name, pm] of LOCKFILES) {
      if (await scope.tree.isFile(fileIn(scope, name))) found.push({ file: fileIn(scope, name), pm });
    }
    if (found.length > 0) return found;
  }
  return [];
}

async function isYarnBerry(scopes: Scope[], declaredMajor: number | undefined): Promise<boolean> {
  if (declaredMajor !== undefined && declaredMajor > 0) return declaredMajor >= 2;
  for (const scope of scopes) {
    const head = await readIn(scope, 'yarn.lock', 512);
    if (head !== undefined) return !head.includes('yarn lockfile v1');
    if (await scope.tree.isFile(fileIn(scope, '.yarnrc.yml'))) return true;
  }
  return false;
}

/**
 * The package manager of a Node package: its `packageManager` field, then a lockfile, then
 * `engines`, then npm. `scopes` lists the package's own folder first and, in a monorepo, the root,
 * since workspaces share the root's lockfile and field.
 */
export async function detectNodeToolchain(scopes: Scope[], packages: PackageJson[]): Promise<NodeToolchain> {
  const lockfiles = await findLockfiles(scopes);
  const lock = lockfiles[0];
  const stray = (pm: NodePackageManager): { strayLockfiles?: string[] } => {
    const others = lockfiles.filter((entry) => entry.pm !== pm).map((entry) => entry.file);
    return others.length > 0 ? { strayLockfiles: others } : {};
  };
  for (const [index, pkg] of packages.entries()) {
    const declared = fromPackageManagerField(pkg.packageManager);
    if (!declared) continue;
    const file = fileIn(scopes[index] ?? scopes[0]!, 'package.json');
    return {
      packageManager: declared.pm,
      evidence: { file, reason: `packageManager field "${pkg.packageManager}"` },
      lockfile: lockfiles.find((entry) => entry.pm === declared.pm)?.file,
      yarnBerry: declared.pm === 'yarn' && (await isYarnBerry(scopes, declared.major)),
      ...stray(declared.pm),
    };
  }
  if (lock) {
    return {
      packageManager: lock.pm,
      evidence: { file: lock.file, reason: 'lockfile' },
      lockfile: lock.file,
      yarnBerry: lock.pm === 'yarn' && (await isYarnBerry(scopes, undefined)),
      ...stray(lock.pm),
    };
  }
  for (const [index, pkg] of packages.entries()) {
    for (const pm of ['pnpm', 'yarn', 'bun'] as const) {
      if (pkg.engines[pm] === undefined) continue;
      const file = fileIn(scopes[index] ?? scopes[0]!, 'package.json');
      return {
        packageManager: pm,
        evidence: { file, reason: `engines.${pm} "${pkg.engines[pm]}"` },
        yarnBerry: pm === 'yarn' && (await isYarnBerry(scopes, undefined)),
      };
    }
  }
  return { packageManager: 'npm', yarnBerry: false };
}

/** The commands of one package manager, so every framework speaks to it the same way. */
export interface NodeCommands {
  install: string;
  run(script: string): string;
  /** Runs a package's binary from node_modules/.bin. */
  exec(bin: string, args?: string): string;
}

export function nodeCommands(toolchain: NodeToolchain): NodeCommands {
  const frozen = toolchain.lockfile !== undefined;
  const withArgs = (head: string, args?: string): string => (args ? `${head} ${args}` : head);
  switch (toolchain.packageManager) {
    case 'pnpm':
      return {
        install: frozen ? 'pnpm install --frozen-lockfile' : 'pnpm install',
        run: (script) => (script === 'start' ? 'pnpm start' : `pnpm run ${script}`),
        exec: (bin, args) => withArgs(`pnpm exec ${bin}`, args),
      };
    case 'yarn':
      return {
        install: !frozen ? 'yarn install' : toolchain.yarnBerry ? 'yarn install --immutable' : 'yarn install --frozen-lockfile',
        run: (script) => (script === 'start' ? 'yarn start' : `yarn run ${script}`),
        exec: (bin, args) => withArgs(`yarn ${bin}`, args),
      };
    case 'bun':
      return {
        install: frozen ? 'bun install --frozen-lockfile' : 'bun install',
        run: (script) => `bun run ${script}`,
        exec: (bin, args) => withArgs(`bunx ${bin}`, args),
      };
    case 'npm':
      return {
        install: frozen ? 'npm ci' : 'npm install',
        run: (script) => (script === 'start' ? 'npm start' : `npm run ${script}`),
        exec: (bin, args) => withArgs(`npx ${bin}`, args),
      };
  }
}
