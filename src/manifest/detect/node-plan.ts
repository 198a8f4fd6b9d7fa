import path from 'node:path';
import { dependencyReason, hasDependency, type PackageJson } from './node-package.js';
import type { NodeCommands, NodePackageManager } from './node-toolchain.js';
import { fixedPortNote, healthRoute, portUse } from './source-scan.js';
import { isInsideFolder } from './read.js';
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

function firstConfig(facts: NodeFacts, stem: string): { file: string; text: string } | undefined {
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
function configFolder(text: string | undefined, key: string): string | undefined {
  if (!text) return undefined;
  const match = new RegExp(`\\b${key}\\s*:\\s*["'\`]([^"'\`]+)["'\`]`).exec(text);
  const folder = match?.[1]?.replace(/^\.\//, '').replace(/\/+$/, '');
  return folder && isInsideFolder(folder) ? folder : undefined;
}

class PlanBuilder {
  readonly notes: string[] = [];
  readonly evidence: Evidence[] = [];
  constructor(private readonly facts: NodeFacts) {}

  get pkgFile(): string {
    return joinPath(this.facts.dir, 'package.json');
  }

  file(name: string): string {
    return joinPath(this.facts.dir, name);
  }

  dep(name: string): Evidence | undefined {
    const reason = dependencyReason(this.facts.pkg, name);
    return reason ? { file: this.pkgFile, reason } : undefined;
  }

  /** The build command: the workspace tool's, the package's `build` script, or the framework CLI. */
  build(fallbackBin?: string, fallbackArgs?: string): string | undefined {
    const { pkg, commands, workspaceBuild } = this.facts;
    if (pkg.scripts.build !== undefined) return workspaceBuild ?? commands.run('build');
    return fallbackBin ? commands.exec(fallbackBin, fallbackArgs) : undefined;
  }

  plan(framework: string, fields: Omit<NodePlan, 'framework' | 'evidence' | 'notes' | 'port' | 'runtime'> & {
    port?: NodePlan['port'];
    runtime?: ManifestRuntime;
  }): NodeDecision {
    const runtime = fields.runtime ?? (fields.staticDir !== undefined && !fields.start ? 'static' : 'node');
    const env = runtime === 'node' ? { NODE_ENV: 'production', ...fields.env } : fields.env;
    return {
      kind: 'app',
      plan: {
        ...fields,
        framework,
        runtime,
        port: fields.port ?? '$PORT',
        evidence: this.evidence,
        notes: this.notes,
        ...(env ? { env } : {}),
      },
    };
  }
}

const SERVER_FRAMEWORKS: ReadonlyArray<[string, string]> = [
  ['express', 'Express'],
  ['fastify', 'Fastify'],
  ['koa', 'Koa'],
  ['@hapi/hapi', 'Hapi'],
  ['hapi', 'Hapi'],
  ['hono', 'Hono'],
  ['polka', 'Polka'],
  ['restify', 'Restify'],
];

const STATIC_SITE_GENERATORS: ReadonlyArray<[string, string, string, string | undefined, string]> = [
  // dependency, framework, CLI binary, its build arguments, output folder
  ['gatsby', 'Gatsby', 'gatsby', 'build', 'public'],
  ['@docusaurus/core', 'Docusaurus', 'docusaurus', 'build', 'build'],
  ['@11ty/eleventy', 'Eleventy', 'eleventy', undefined, '_site'],
  ['vitepress', 'VitePress', 'vitepress', 'build', '.vitepress/dist'],
  ['react-scripts', 'Create React App', 'react-scripts', 'build', 'build'],
  ['@vue/cli-service', 'Vue CLI', 'vue-cli-service', 'build', 'dist'],
];

const DEV_WATCHERS = /\b(nodemon|ts-node-dev|node --watch|tsx watch|next dev|vite(?:\s|$)|nuxt dev|astro dev)\b/;

/** Decides how a Node package is built and started, or why it is not an app. Pure. */
export function planNode(facts: NodeFacts): NodeDecision {
  const b = new PlanBuilder(facts);
  const { pkg, commands } = facts;
  const has = (name: string): boolean => hasDependency(pkg, name);
  const use = (name: string): void => {
    const evidence = b.dep(name);
    if (evidence) b.evidence.push(evidence);
  };

  if (has('next')) {
    use('next');
    const config = firstConfig(facts, 'next.config');
    if (config && /\boutput\s*:\s*["'`]export["'`]/.test(config.text)) {
      b.evidence.push({ file: b.file(config.file), reason: `output: 'export'` });
      return b.plan('Next.js', { build: b.build('next', 'build'), staticDir: 'out' });
    }
    if (config && /\boutput\s*:\s*["'`]standalone["'`]/.test(config.text) && !facts.member) {
      // The standalone server leaves static assets behind; Next's docs copy them in after the build.
      b.evidence.push({ file: b.file(config.file), reason: `output: 'standalone'` });
      const copies = ['cp -r .next/static .next/standalone/.next/static', ...(facts.files.has('public/') ? ['cp -r public .next/standalone/public'] : [])];
      return b.plan('Next.js', {
        build: [b.build('next', 'build'), ...copies].join(' && '),
        start: 'node .next/standalone/server.js',
        env: { HOSTNAME: '0.0.0.0' },
      });
    }
    return b.plan('Next.js', { build: b.build('next', 'build'), start: commands.exec('next', 'start -p $PORT') });
  }

  if (has('nuxt') || has('nuxt3')) {
    use(has('nuxt') ? 'nuxt' : 'nuxt3');
    if (/\bnuxi?\s+generate\b/.test(pkg.scripts.build ?? '') || pkg.scripts.generate !== undefined && pkg.scripts.build === undefined) {
      b.evidence.push({ file: b.pkgFile, reason: 'static generation (nuxt generate)' });
      const build = pkg.scripts.build !== undefined ? b.build() : commands.run('generate');
      return b.plan('Nuxt', { build, staticDir: '.output/public' });
    }
    // Nitro's node server reads PORT (and HOST, defaulting to all interfaces).
    return b.plan('Nuxt', { build: b.build('nuxt', 'build'), start: 'node .output/server/index.mjs' });
  }

  const remixDep = ['@remix-run/node', '@remix-run/serve', '@remix-run/react', '@remix-run/dev'].find(has);
  if (remixDep) {
    use(remixDep);
    const start = pkg.scripts.start;
    const viteBuild = firstConfig(facts, 'vite.config') !== undefined || !facts.files.has('remix.config.js');
    const serverBuild = viteBuild ? './build/server/index.js' : './build/index.js';
    if (start && !/remix-serve/.test(start)) {
      b.notes.push(`the "start" script runs a custom server; make sure it listens on process.env.PORT`);
      return b.plan('Remix', { build: b.build('remix', viteBuild ? 'vite:build' : 'build'), start: commands.run('start') });
    }
    // remix-serve reads PORT.
    return b.plan('Remix', {
      build: b.build('remix', viteBuild ? 'vite:build' : 'build'),
      start: commands.exec('remix-serve', serverBuild),
    });
  }

  if (has('@react-router/dev') || has('@react-router/serve')) {
    use(has('@react-router/serve') ? '@react-router/serve' : '@react-router/dev');
    const config = firstConfig(facts, 'react-router.config');
    if (config && /\bssr\s*:\s*false\b/.test(config.text)) {
      b.evidence.push({ file: b.file(config.file), reason: 'ssr: false' });
      return b.plan('React Router', { build: b.build('react-router', 'build'), staticDir: 'build/client' });
    }
    return b.plan('React Router', {
      build: b.build('react-router', 'build'),
      start: commands.exec('react-router-serve', './build/server/index.js'),
    });
  }

  if (has('astro')) {
    use('astro');
    const config = firstConfig(facts, 'astro.config');
    const outDir = configFolder(config?.text, 'outDir') ?? 'dist';
    const adapter = ['@astrojs/node', '@astrojs/vercel', '@astrojs/netlify', '@astrojs/cloudflare', '@astrojs/deno'].find(has);
    if (!adapter) return b.plan('Astro', { build: b.build('astro', 'build'), staticDir: outDir });
    use(adapter);
    if (adapter !== '@astrojs/node') {
      b.notes.push(`${adapter} builds for another host and leaves no server Maestro can run; switch to @astrojs/node with mode 'standalone'`);
    } else if (config && /mode\s*:\s*["'`]middleware["'`]/.test(config.text)) {
      b.notes.push(`@astrojs/node is in 'middleware' mode, which needs your own server; use mode 'standalone' to run it as is`);
    }
    // The standalone server reads HOST and PORT.
    return b.plan('Astro (SSR)', {
      build: b.build('astro', 'build'),
      start: `node ./${outDir}/server/entry.mjs`,
      env: { HOST: '0.0.0.0' },
    });
  }

  if (has('@sveltejs/kit')) {
    use('@sveltejs/kit');
    const config = facts.texts.get('svelte.config.js') ?? firstConfig(facts, 'svelte.config')?.text;
    if (has('@sveltejs/adapter-static')) {
      use('@sveltejs/adapter-static');
      const pages = configFolder(config, 'pages') ?? 'build';
      return b.plan('SvelteKit (static)', { build: b.build('vite', 'build'), staticDir: pages });
    }
    const out = configFolder(config, 'out') ?? 'build';
    if (has('@sveltejs/adapter-node')) use('@sveltejs/adapter-node');
    else {
      b.notes.push('install @sveltejs/adapter-node and use it in svelte.config.js: the current adapter produces no server Maestro can run');
    }
    // adapter-node's server reads PORT and HOST (default 0.0.0.0).
    return b.plan('SvelteKit', { build: b.build('vite', 'build'), start: `node ${out}` });
  }

  if (has('@angular/core') && facts.texts.has('angular.json')) {
    return planAngular(facts, b);
  }

  if (has('@nestjs/core')) {
    use('@nestjs/core');
    const sources = ['src/main.ts', 'src/main.js'].map((file) => facts.texts.get(file)).filter(isText);
    const port = portFromSources(b, 'src/main.ts', sources);
    return b.plan('NestJS', {
      build: b.build('nest', 'build'),
      start: 'node dist/main',
      port,
      health: healthRoute(sources),
    });
  }

  for (const [dependency, framework, bin, args, output] of STATIC_SITE_GENERATORS) {
    if (!has(dependency)) continue;
    use(dependency);
    return b.plan(framework, { build: b.build(bin, args), staticDir: output });
  }

  if (has('elysia')) {
    use('elysia');
    return planServer(facts, b, 'Elysia', true);
  }

  const server = SERVER_FRAMEWORKS.find(([dependency]) => has(dependency));
  const entry = findEntry(facts);
  if (server && (pkg.scripts.start !== undefined || entry)) {
    use(server[0]);
    return planServer(facts, b, server[1], false);
  }

  if (has('vite')) {
    const config = firstConfig(facts, 'vite.config');
    if (config && /\blib\s*:\s*\{/.test(config.text)) {
      return { kind: 'skip', reason: `${b.file(config.file)} builds a library (build.lib), nothing to serve` };
    }
    use('vite');
    const flavour = [
      ['react', 'React'],
      ['vue', 'Vue'],
      ['svelte', 'Svelte'],
      ['solid-js', 'Solid'],
      ['preact', 'Preact'],
      ['lit', 'Lit'],
    ].find(([dependency]) => has(dependency!));
    const outDir = configFolder(config?.text, 'outDir') ?? 'dist';
    return b.plan(flavour ? `Vite (${flavour[1]})` : 'Vite', { build: b.build('vite', 'build'), staticDir: outDir });
  }

  if (pkg.scripts.start !== undefined) {
    b.evidence.push({ file: b.pkgFile, reason: `script "start": ${pkg.scripts.start}` });
    return planServer(facts, b, 'Node.js', false);
  }
  if (facts.member) {
    return { kind: 'skip', reason: 'library: no start script and no app framework' };
  }
  if (entry) {
    b.evidence.push({ file: b.file(entry), reason: pkg.main ? `"main" entry` : 'server entry file' });
    return planServer(facts, b, 'Node.js', false);
  }
  return {
    kind: 'skip',
    reason: `${b.pkgFile} has no "start" script, no "main" file and no framework Maestro knows; add a "start" script that runs your server`,
  };
}

function isText(value: string | undefined): value is string {
  return value !== undefined;
}

/** The file the server starts from: what the start script or `main` names, or a usual name. */
function findEntry(facts: NodeFacts): string | undefined {
  const named = [scriptEntry(facts.pkg.scripts.start), facts.pkg.main ? joinPath(facts.pkg.main) : undefined];
  for (const file of named) if (file && facts.files.has(file)) return file;
  if (facts.member && !facts.pkg.scripts.start) return undefined;
  return ENTRY_CANDIDATES.find((file) => facts.files.has(file) && /\.listen\(|serve\(/.test(facts.texts.get(file) ?? ''));
}

function portFromSources(b: PlanBuilder, file: string, sources: string[]): NodePlan['port'] {
  const use = portUse(sources);
  if (use.kind !== 'fixed') return '$PORT';
  b.notes.push(fixedPortNote(b.file(file), use.port));
  return use.port;
}

function planServer(facts: NodeFacts, b: PlanBuilder, framework: string, bunOnly: boolean): NodeDecision {
  const { pkg, commands } = facts;
  const entry = findEntry(facts);
  const sourceFiles = entryFiles(pkg).filter((file) => facts.texts.has(file));
  const sources = sourceFiles.map((file) => facts.texts.get(file)!);
  const startScript = pkg.scripts.start;
  const onBun =
    bunOnly ||
    /^\s*bun\b/.test(startScript ?? '') ||
    (facts.packageManager === 'bun' && (hasDependency(pkg, '@types/bun') || hasDependency(pkg, 'bun-types')));

  let start: string | undefined;
  if (startScript !== undefined) {
    start = commands.run('start');
    if (DEV_WATCHERS.test(startScript)) {
      b.notes.push(`the "start" script (${startScript}) runs a development watcher; production should run the built server directly`);
    }
  } else if (entry) {
    if (onBun) start = `bun run ${entry}`;
    else if (/\.[cm]?ts$/.test(entry)) {
      if (hasDependency(pkg, 'tsx')) start = commands.exec('tsx', entry);
      else {
        const compiled = joinPath('dist', `${path.posix.basename(entry).replace(/\.([cm]?)ts$/, '.$1js')}`);
        start = `node ${compiled}`;
        b.notes.push(`${b.file(entry)} is TypeScript; Maestro assumed the build writes ${compiled}: add a "start" script if it does not`);
      }
    } else start = `node ${entry}`;
  }
  if (!start) {
    return { kind: 'skip', reason: `${b.pkgFile} uses ${framework} but has no "start" script or entry file to run` };
  }

  const port = portFromSources(b, entry ?? sourceFiles[0] ?? 'package.json', sources);
  if (framework === 'Fastify' && sources.length > 0 && !sources.some((text) => /0\.0\.0\.0|::/.test(text))) {
    b.notes.push(`Fastify listens on 127.0.0.1 unless given host: '0.0.0.0'; set it so the router can reach the app from another machine`);
  }
  if (portUse(sources).kind === 'unknown' && sources.length > 0 && framework !== 'Elysia') {
    b.notes.push(`could not see where ${b.file(sourceFiles[0]!)} picks its port; make sure the server listens on process.env.PORT`);
  }
  const build = pkg.scripts.build !== undefined ? b.build() : undefined;
  return b.plan(onBun ? `${framework} on Bun` : framework, {
    runtime: onBun ? 'custom' : 'node',
    build,
    start,
    port,
    health: healthRoute(sources),
    env: onBun ? { NODE_ENV: 'production' } : undefined,
  });
}

function planAngular(facts: NodeFacts, b: PlanBuilder): NodeDecision {
  b.evidence.push({ file: b.pkgFile, reason: dependencyReason(facts.pkg, '@angular/core')! });
  let project = 'app';
  let outputPath: string | undefined;
  let applicationBuilder = true;
  let ssr = hasDependency(facts.pkg, '@angular/ssr');
  try {
    const workspace = JSON.parse(facts.texts.get('angular.json') ?? '{}') as {
      defaultProject?: string;
      projects?: Record<string, { architect?: { build?: { builder?: string; options?: Record<string, unknown> } } }>;
    };
    const names = Object.keys(workspace.projects ?? {});
    project = workspace.defaultProject ?? names[0] ?? project;
    const build = workspace.projects?.[project]?.architect?.build;
    const output = build?.options?.outputPath;
    const declared = typeof output === 'string' ? output : typeof (output as { base?: unknown })?.base === 'string' ? (output as { base: string }).base : undefined;
    outputPath = declared && isInsideFolder(declared) ? declared.replace(/\/+$/, '') : undefined;
    applicationBuilder = !/:browser$/.test(build?.builder ?? '');
    ssr = ssr || (build?.options?.ssr !== undefined && build.options.ssr !== false);
  } catch {
    b.notes.push(`${b.file('angular.json')} is not valid JSON; Maestro assumed the default output folder`);
  }
  const out = outputPath ?? `dist/${project}`;
  b.evidence.push({ file: b.file('angular.json'), reason: `project "${project}"` });
  if (ssr && applicationBuilder) {
    // The Angular SSR server (server.ts) reads PORT.
    return b.plan('Angular (SSR)', { build: b.build('ng', 'build'), start: `node ${out}/server/server.mjs` });
  }
  return b.plan('Angular', { build: b.build('ng', 'build'), staticDir: applicationBuilder ? `${out}/browser` : out });
}
