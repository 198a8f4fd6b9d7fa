import { fileExists, fileIn, readIn, type Scope } from './read.js';
import { fixedPortNote, healthRoute, portUse } from './source-scan.js';
import { parseTomlLite, tomlString, tomlTable, tomlTables } from './toml-lite.js';
import type { DetectedService, Evidence } from './types.js';

type ServiceDraft = Omit<DetectedService, 'name'>;

const RUST_FRAMEWORKS: ReadonlyArray<[string, string]> = [
  ['axum', 'Axum'],
  ['actix-web', 'Actix Web'],
  ['rocket', 'Rocket'],
  ['warp', 'Warp'],
  ['poem', 'Poem'],
  ['salvo', 'Salvo'],
  ['tide', 'Tide'],
  ['hyper', 'Hyper'],
];

export async function detectRust(scope: Scope): Promise<{ service?: ServiceDraft; hint?: string } | undefined> {
  const text = await readIn(scope, 'Cargo.toml');
  if (text === undefined) return undefined;
  const cargoFile = fileIn(scope, 'Cargo.toml');
  const doc = parseTomlLite(text);
  const pkg = tomlTable(doc, 'package');
  if (!pkg) {
    if (tomlTable(doc, 'workspace')) return { hint: `${cargoFile} is a Cargo workspace; run maestro init in the member crate that serves traffic` };
    return { hint: `${cargoFile} has no [package] section` };
  }
  const bins = tomlTables(doc, 'bin');
  const binName = tomlString(bins[0]?.entries.get('name')) ?? tomlString(pkg.entries.get('name'));
  const mainFile = tomlString(bins[0]?.entries.get('path')) ?? 'src/main.rs';
  if (!binName || (!(await fileExists(scope, mainFile)) && bins.length === 0)) {
    return { hint: `${cargoFile} builds a library (no src/main.rs or [[bin]]); nothing to run` };
  }
  const dependencies = new Set([...(tomlTable(doc, 'dependencies')?.entries.keys() ?? [])]);
  for (const table of doc) {
    const dotted = /^dependencies\.(.+)$/.exec(table.name);
    if (dotted) dependencies.add(dotted[1]!);
  }
  const found = RUST_FRAMEWORKS.find(([crate]) => dependencies.has(crate));
  const evidence: Evidence[] = [found ? { file: cargoFile, reason: `dependency "${found[0]}"` } : { file: fileIn(scope, mainFile), reason: 'binary crate' }];
  const managerEvidence: Evidence = { file: cargoFile, reason: `package "${tomlString(pkg.entries.get('name')) ?? binName}"` };
  const notes: string[] = [];
  const source = (await readIn(scope, mainFile, 256 * 1024)) ?? '';
  const binary = `./target/release/${binName}`;
  let start = binary;
  let port: number | '$PORT' = '$PORT';
  let env: Record<string, string> | undefined;
  if (found?.[0] === 'rocket') {
    // Rocket reads its address and port from ROCKET_* variables.
    start = `ROCKET_PORT=$PORT ${binary}`;
    env = { ROCKET_ADDRESS: '0.0.0.0' };
  } else {
    const use = portUse([source]);
    if (use.kind === 'fixed') {
      port = use.port;
      notes.push(fixedPortNote(fileIn(scope, mainFile), use.port));
    } else if (use.kind === 'unknown') {
      notes.push(`could not see where ${fileIn(scope, mainFile)} picks its port; bind to 0.0.0.0 and std::env::var("PORT")`);
    }
  }
  return {
    service: {
      path: scope.dir,
      runtime: 'custom',
      framework: found ? found[1] : 'Rust',
      packageManager: 'cargo',
      packageManagerEvidence: managerEvidence,
      install: 'cargo fetch',
      build: 'cargo build --release',
      start,
      port,
      ...(healthRoute([source]) ? { health: healthRoute([source])! } : {}),
      ...(env ? { env } : {}),
      evidence: [...evidence, managerEvidence],
      notes,
    },
  };
}
