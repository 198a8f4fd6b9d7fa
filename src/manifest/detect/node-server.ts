import path from 'node:path';
import { ENTRY_CANDIDATES, entryFiles, scriptEntry, type NodeDecision, type NodeFacts } from './node-facts.js';
import { hasDependency } from './node-package.js';
import { portFromSources, type PlanBuilder } from './node-plan-builder.js';
import { healthRoute, portUse } from './source-scan.js';
import { joinPath } from './source-tree.js';

const DEV_WATCHERS = /\b(nodemon|ts-node-dev|node --watch|tsx watch|next dev|vite(?:\s|$)|nuxt dev|astro dev)\b/;

/** The file the server starts from: what the start script or `main` names, or a usual name. */
export function findEntry(facts: NodeFacts): string | undefined {
  const named = [scriptEntry(facts.pkg.scripts.start), facts.pkg.main ? joinPath(facts.pkg.main) : undefined];
  for (const file of named) if (file && facts.files.has(file)) return file;
  if (facts.member && !facts.pkg.scripts.start) return undefined;
  return ENTRY_CANDIDATES.find((file) => facts.files.has(file) && /\.listen\(|serve\(/.test(facts.texts.get(file) ?? ''));
}

/** A server the package starts itself (Express, Fastify, a plain start script), on Node or Bun. */
export function planServer(facts: NodeFacts, b: PlanBuilder, framework: string, bunOnly: boolean): NodeDecision {
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
