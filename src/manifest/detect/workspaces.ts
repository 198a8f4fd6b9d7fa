import { parse as parseYaml } from 'yaml';
import type { PackageJson } from './node-package.js';
import { fileExists, fileIn, readIn, readJsonObject, stringList, type Scope } from './read.js';
import { joinPath } from './source-tree.js';
import type { Evidence } from './types.js';

/** How a monorepo declares its packages, and the task runner it builds them with. */
export interface WorkspaceLayout {
  patterns: string[];
  tool?: 'turbo' | 'nx';
  evidence: Evidence[];
}

/** Folders never worth descending into when expanding workspace globs. */
const IGNORED_DIRS = new Set(['node_modules', '.git', 'dist', 'build', '.next', '.turbo', '.nx', 'coverage', 'target', 'vendor']);

export async function readWorkspaceLayout(root: Scope, rootPkg: PackageJson | undefined): Promise<WorkspaceLayout | undefined> {
  const evidence: Evidence[] = [];
  const patterns: string[] = [];
  const pnpmText = await readIn(root, 'pnpm-workspace.yaml');
  if (pnpmText !== undefined) {
    try {
      const parsed: unknown = parseYaml(pnpmText);
      const packages = stringList((parsed as { packages?: unknown } | null)?.packages);
      if (packages.length > 0) {
        patterns.push(...packages);
        evidence.push({ file: fileIn(root, 'pnpm-workspace.yaml'), reason: `packages ${packages.join(', ')}` });
      }
    } catch (error) {
      const detail = error instanceof Error ? error.message.split('\n')[0] : String(error);
      root.problems.push(`${fileIn(root, 'pnpm-workspace.yaml')} is not valid YAML (${detail}); fix it so Maestro can find the workspace packages`);
    }
  }
  if (rootPkg && rootPkg.workspaces.length > 0) {
    patterns.push(...rootPkg.workspaces);
    evidence.push({ file: fileIn(root, 'package.json'), reason: `workspaces ${rootPkg.workspaces.join(', ')}` });
  }
  if (patterns.length === 0) {
    const lerna = await readJsonObject(root, 'lerna.json');
    const packages = stringList(lerna?.packages);
    if (packages.length > 0) {
      patterns.push(...packages);
      evidence.push({ file: fileIn(root, 'lerna.json'), reason: `packages ${packages.join(', ')}` });
    }
  }
  let tool: WorkspaceLayout['tool'];
  if (await fileExists(root, 'turbo.json')) {
    tool = 'turbo';
    evidence.push({ file: fileIn(root, 'turbo.json'), reason: 'Turborepo' });
  } else if (await fileExists(root, 'nx.json')) {
    tool = 'nx';
    evidence.push({ file: fileIn(root, 'nx.json'), reason: 'Nx workspace' });
    // Integrated Nx workspaces have no globs: projects live under apps/ and libs/.
    if (patterns.length === 0) patterns.push('apps/*', 'libs/*', 'packages/*');
  }
  if (patterns.length === 0) return undefined;
  return { patterns, ...(tool ? { tool } : {}), evidence };
}

function segmentPattern(segment: string): RegExp {
  const escaped = segment.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]');
  return new RegExp(`^${escaped}$`);
}

/** Folders (relative to the root) matched by workspace globs: `apps/*`, `packages/**`, `tools/cli`, `!**\/test`. */
export async function expandWorkspaces(root: Scope, patterns: string[]): Promise<string[]> {
  const found = new Set<string>();
  const excluded: RegExp[] = [];
  const walk = async (base: string, segments: string[]): Promise<void> => {
    if (segments.length === 0) {
      if (base !== '.') found.add(base);
      return;
    }
    const [head, ...rest] = segments;
    if (head === '**') {
      await walk(base, rest);
      if (base.split('/').length > 6) return;
      for (const entry of await root.tree.list(fileIn(root, base))) {
        if (entry.kind === 'dir' && !IGNORED_DIRS.has(entry.name) && !entry.name.startsWith('.')) await walk(joinPath(base, entry.name), segments);
      }
      return;
    }
    if (!/[*?]/.test(head!)) {
      if (await root.tree.isDir(fileIn(root, joinPath(base, head!)))) await walk(joinPath(base, head!), rest);
      return;
    }
    const matcher = segmentPattern(head!);
    for (const entry of await root.tree.list(fileIn(root, base))) {
      if (entry.kind === 'dir' && !IGNORED_DIRS.has(entry.name) && !entry.name.startsWith('.') && matcher.test(entry.name)) {
        await walk(joinPath(base, entry.name), rest);
      }
    }
  };
  for (const raw of patterns) {
    const negated = raw.startsWith('!');
    const pattern = joinPath(raw.replace(/^!/, '').replace(/\/+$/, ''));
    if (pattern === '.' || pattern.startsWith('..')) continue;
    if (negated) {
      excluded.push(new RegExp(`^${pattern.split('/').map((segment) => (segment === '**' ? '.*' : segmentPattern(segment).source.slice(1, -1))).join('/')}$`));
      continue;
    }
    await walk('.', pattern.split('/'));
  }
  return [...found].filter((dir) => !excluded.some((pattern) => pattern.test(dir))).sort();
}
