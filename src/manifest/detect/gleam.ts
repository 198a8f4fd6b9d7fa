import { fileIn, readIn, type Scope } from './read.js';
import { fixedPortNote, portUse } from './source-scan.js';
import { parseTomlLite, tomlString, tomlTable } from './toml-lite.js';
import type { DetectedService, Evidence } from './types.js';

type ServiceDraft = Omit<DetectedService, 'name'>;

export async function detectGleam(scope: Scope): Promise<{ service?: ServiceDraft; hint?: string } | undefined> {
  const text = await readIn(scope, 'gleam.toml');
  if (text === undefined) return undefined;
  const file = fileIn(scope, 'gleam.toml');
  const doc = parseTomlLite(text);
  const name = tomlString(tomlTable(doc, '')?.entries.get('name'));
  const deps = new Set(tomlTable(doc, 'dependencies')?.entries.keys() ?? []);
  const server = ['wisp', 'mist'].find((dep) => deps.has(dep));
  if (!server) return { hint: `${file} has no wisp or mist dependency; Maestro could not tell what serves HTTP` };
  const managerEvidence: Evidence = { file, reason: `package "${name ?? 'unnamed'}"` };
  const notes: string[] = [];
  const source = name ? ((await readIn(scope, `src/${name}.gleam`, 256 * 1024)) ?? '') : '';
  let port: number | '$PORT' = '$PORT';
  const use = portUse([source]);
  if (use.kind === 'fixed') {
    port = use.port;
    notes.push(fixedPortNote(fileIn(scope, `src/${name}.gleam`), use.port));
  } else if (/mist\.port\(\s*(\d+)\s*\)/.test(source)) {
    port = Number(/mist\.port\(\s*(\d+)\s*\)/.exec(source)![1]);
    notes.push(fixedPortNote(fileIn(scope, `src/${name}.gleam`), port));
  }
  return {
    service: {
      path: scope.dir,
      runtime: 'custom',
      framework: server === 'wisp' ? 'Gleam (Wisp)' : 'Gleam (Mist)',
      packageManager: 'gleam',
      packageManagerEvidence: managerEvidence,
      install: 'gleam deps download',
      build: 'gleam export erlang-shipment',
      start: './build/erlang-shipment/entrypoint.sh run',
      port,
      evidence: [{ file, reason: `dependency "${server}"` }, managerEvidence],
      notes,
    },
  };
}
