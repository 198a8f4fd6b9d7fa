import { fileIn, firstFile, isRecord, readIn, readJsonObject, stringMap, type Scope } from './read.js';
import { fixedPortNote, healthRoute, portUse } from './source-scan.js';
import type { DetectedService, Evidence } from './types.js';

type ServiceDraft = Omit<DetectedService, 'name'>;

const ENTRIES = ['main.ts', 'server.ts', 'mod.ts', 'main.js', 'src/main.ts', 'app.ts'];
/** Deno.serve without a port listens here. */
const DENO_DEFAULT_PORT = 8000;

export async function detectDeno(scope: Scope): Promise<ServiceDraft | undefined> {
  const configName = await firstFile(scope, ['deno.json', 'deno.jsonc']);
  const config = configName ? await readJsonObject(scope, configName, { comments: true }) : undefined;
  const entry = await firstFile(scope, ENTRIES);
  const entryText = entry ? ((await readIn(scope, entry, 256 * 1024)) ?? '') : '';
  if (!config && !/\bDeno\.serve\b/.test(entryText)) return undefined;

  const tasks = stringMap(config?.tasks);
  const imports = isRecord(config?.imports) ? Object.entries(stringMap(config.imports)) : [];
  const fresh = imports.find(([key, value]) => key.startsWith('$fresh') || value.includes('fresh'));
  const evidence: Evidence[] = [
    configName ? { file: fileIn(scope, configName), reason: fresh ? `import "${fresh[0]}"` : 'Deno config' } : { file: fileIn(scope, entry!), reason: 'calls Deno.serve' },
  ];
  const notes: string[] = [];
  const base = {
    path: scope.dir,
    runtime: 'custom' as const,
    packageManager: 'deno' as const,
    packageManagerEvidence: evidence[0]!,
    evidence,
    notes,
  };

  if (fresh && (fresh[1].includes('@fresh/core') || fresh[0].startsWith('fresh'))) {
    // Fresh 2 builds into _fresh/ and is served by `deno serve`, which takes the port as a flag.
    return { ...base, framework: 'Fresh', build: 'deno task build', start: 'deno serve -A --port $PORT _fresh/server.js', port: '$PORT' };
  }

  if (fresh) {
    // Fresh 1: main.ts starts the server; it needs to read its islands and write nothing.
    const freshConfig = (await readIn(scope, 'fresh.config.ts', 64 * 1024)) ?? '';
    const use = portUse([entryText, freshConfig]);
    const port = use.kind === 'env' ? '$PORT' : use.kind === 'fixed' ? use.port : DENO_DEFAULT_PORT;
    if (use.kind !== 'env') {
      notes.push(`Fresh listens on ${port}; set server: { port: Number(Deno.env.get("PORT")) } in fresh.config.ts to let Maestro choose`);
    }
    return {
      ...base,
      framework: 'Fresh',
      ...(tasks.build ? { build: 'deno task build' } : {}),
      start: `deno run -A ${entry ?? 'main.ts'}`,
      port,
    };
  }

  const exportsFetch = /export\s+default\s*\{[\s\S]*\bfetch\b/.test(entryText);
  let start: string;
  let port: number | '$PORT' = '$PORT';
  if (exportsFetch && entry) {
    start = `deno serve --allow-env --allow-read --allow-net --port $PORT ${entry}`;
  } else {
    if (tasks.start && !/--watch/.test(tasks.start)) {
      start = 'deno task start';
      evidence.push({ file: fileIn(scope, configName!), reason: `task "start": ${tasks.start}` });
    } else if (entry) start = `deno run --allow-net --allow-env --allow-read ${entry}`;
    else return undefined;
    const use = portUse([entryText]);
    if (use.kind === 'fixed') {
      port = use.port;
      notes.push(fixedPortNote(fileIn(scope, entry ?? configName!), use.port));
    } else if (use.kind === 'unknown') {
      port = DENO_DEFAULT_PORT;
      notes.push(`Deno.serve listens on ${DENO_DEFAULT_PORT} unless told otherwise; pass { port: Number(Deno.env.get("PORT")) } to let Maestro choose`);
    }
  }
  return {
    ...base,
    framework: 'Deno',
    ...(entry ? { install: `deno cache ${entry}` } : {}),
    ...(tasks.build ? { build: 'deno task build' } : {}),
    start,
    port,
    ...(healthRoute([entryText]) ? { health: healthRoute([entryText])! } : {}),
  };
}
