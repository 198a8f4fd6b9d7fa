import { hasDependency } from './node-package.js';
import { planAngular } from './node-angular.js';
import { configFolder, firstConfig, isText, type NodeDecision, type NodeFacts } from './node-facts.js';
import { PlanBuilder, portFromSources } from './node-plan-builder.js';
import { findEntry, planServer } from './node-server.js';
import { healthRoute } from './source-scan.js';

export type { NodeDecision, NodeFacts, NodePlan } from './node-facts.js';

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
