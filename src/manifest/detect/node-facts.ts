import { isInsideFolder } from './read.js';
import type { PackageJson } from './node-package.js';
import type { NodeCommands, NodePackageManager } from './node-toolchain.js';
import { joinPath } from './source-tree.js';
import type { Evidence, ManifestRuntime } from './types.js';

/** Everything the Node decision needs, already read from disk. */
export interface NodeFacts {
  /** The package folder, from the detected root. */
  dir: string;
  pkg: PackageJson;
  /** Files present in the package folder, as paths relative to it (`next.config.mjs`, `src/main.ts`); folders end in `/`. */
  files: ReadonlySet<string>;
  /** Text of the config and entry files that were read, by the same relative paths. */
  texts: ReadonlyMap<string, string>;
  packageManager: NodePackageManager;
  commands: NodeCommands;
  /** A workspace member of a monorepo, where a bare `main` marks a library rather than an app. */
  member: boolean;
  /** In a monorepo, how the root builds this package (turbo, nx, the package manager's filter). */
  workspaceBuild?: string;
}

export interface NodePlan {
  framework: string;
  runtime: ManifestRuntime;
  evidence: Evidence[];
  build?: string;
  start?: string;
  staticDir?: string;
  port: number | '$PORT';
  health?: string;
  env?: Record<string, string>;
  notes: string[];
}

export type NodeDecision = { kind: 'app'; plan: NodePlan } | { kind: 'skip'; reason: string };

/** Config files worth reading, without extension; each is tried with the usual JS/TS endings. */
export const NODE_CONFIG_STEMS = [
  'next.config',
  'nuxt.config',
  'astro.config',
  'svelte.config',
  'vite.config',
  'react-router.config',
] as const;
export const CONFIG_EXTENSIONS = ['ts', 'mts', 'mjs', 'js', 'cjs'] as const;
export const NODE_PLAIN_FILES = ['angular.json', 'nest-cli.json', 'remix.config.js', 'tsconfig.json'] as const;

/** Files a Node server commonly starts from, in the order they are tried. */
export const ENTRY_CANDIDATES = [
  'server.js',
  'server.mjs',
  'server.cjs',
  'index.js',
  'index.mjs',
  'app.js',
  'main.js',
  'server.ts',
  'index.ts',
  'app.ts',
  'src/server.ts',
  'src/index.ts',
  'src/main.ts',
  'src/app.ts',
  'src/server.js',
  'src/index.js',
  'src/main.js',
  'src/app.js',
] as const;

/** The file a start command runs (`node dist/server.js` -> `dist/server.js`), if it names one. */
export function scriptEntry(script: string | undefined): string | undefined {
  if (!script) return undefined;
  const match = /\b(?:node|nodemon|tsx|ts-node|ts-node-dev|bun(?:\s+run)?|deno\s+run)\s+(?:-{1,2}[\w-]+(?:[= ](?:\S+))?\s+)*([\w./@-]+\.(?:[cm]?[jt]s))\b/.exec(
    script,
  );
  return match ? joinPath(match[1]!) : undefined;
}

/** Every file whose source may say how the server picks its port, most specific first. */
export function entryFiles(pkg: PackageJson): string[] {
  const named = [scriptEntry(pkg.scripts.start), pkg.main ? joinPath(pkg.main) : undefined];
  const all = [...named.filter((file): file is string => file !== undefined), ...ENTRY_CANDIDATES];
  return [...new Set(all)];
}

export function firstConfig(facts: NodeFacts, stem: string): { file: string; text: string } | undefined {
  for (const extension of CONFIG_EXTENSIONS) {
    const file = `${stem}.${extension}`;
    const text = facts.texts.get(file);
    if (text !== undefined) return { file, text };
  }
  return undefined;
}

/**
 * A folder option in a JS config, e.g. `outDir: 'build'`. Good enough for literal configs; a folder
 * outside the package (`../dist`, `/tmp/site`) is ignored, since the manifest can only name one inside.
 */
export function configFolder(text: string | undefined, key: string): string | undefined {
  if (!text) return undefined;
  const match = new RegExp(`\\b${key}\\s*:\\s*["'\`]([^"'\`]+)["'\`]`).exec(text);
  const folder = match?.[1]?.replace(/^\.\//, '').replace(/\/+$/, '');
  return folder && isInsideFolder(folder) ? folder : undefined;
}

export function isText(value: string | undefined): value is string {
  return value !== undefined;
}
