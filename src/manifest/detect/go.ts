import { fileIn, readIn, type Scope } from './read.js';
import { fixedPortNote, healthRoute, portUse } from './source-scan.js';
import { joinPath } from './source-tree.js';
import type { DetectedService, Evidence } from './types.js';

type ServiceDraft = Omit<DetectedService, 'name'>;

const GO_FRAMEWORKS: ReadonlyArray<[string, string]> = [
  ['github.com/gin-gonic/gin', 'Gin'],
  ['github.com/labstack/echo', 'Echo'],
  ['github.com/gofiber/fiber', 'Fiber'],
  ['github.com/go-chi/chi', 'Chi'],
  ['github.com/gorilla/mux', 'Gorilla mux'],
  ['github.com/julienschmidt/httprouter', 'httprouter'],
];

export interface GoModule {
  module?: string;
  requires: string[];
}

/** Module path and required modules of a go.mod (single-line and block `require`). */
export function parseGoMod(text: string): GoModule {
  const module = /^\s*module\s+(\S+)/m.exec(text)?.[1]?.replace(/^"|"$/g, '');
  const requires: string[] = [];
  let inBlock = false;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/\/\/.*$/, '').trim();
    if (inBlock) {
      if (line === ')') inBlock = false;
      else if (line) requires.push(line.split(/\s+/)[0]!);
    } else if (/^require\s*\($/.test(line)) inBlock = true;
    else {
      const single = /^require\s+(\S+)/.exec(line);
      if (single) requires.push(single[1]!);
    }
  }
  return { ...(module ? { module } : {}), requires };
}

/** Texts of the .go files (tests left out) of one folder, at most a handful. */
async function goSources(scope: Scope, dir: string): Promise<Array<{ file: string; text: string }>> {
  const sources: Array<{ file: string; text: string }> = [];
  const entries = (await scope.tree.list(fileIn(scope, dir))).filter(
    (entry) => entry.kind === 'file' && entry.name.endsWith('.go') && !entry.name.endsWith('_test.go'),
  );
  entries.sort((a, b) => (a.name === 'main.go' ? -1 : b.name === 'main.go' ? 1 : 0));
  for (const entry of entries.slice(0, 24)) {
    const file = joinPath(dir, entry.name);
    const text = await readIn(scope, file, 256 * 1024);
    if (text !== undefined) sources.push({ file, text });
  }
  return sources;
}

const isMainPackage = (text: string): boolean => /^\s*package\s+main\b/m.test(text);

/** The folder of the `main` package: the module root, else the one cmd/<name> (preferring the module's name). */
async function findMainPackage(
  scope: Scope,
  moduleName: string | undefined,
): Promise<{ dir: string; sources: Array<{ file: string; text: string }>; others: string[] } | undefined> {
  const root = await goSources(scope, '.');
  if (root.some((source) => isMainPackage(source.text))) return { dir: '.', sources: root, others: [] };
  const commands: string[] = [];
  for (const entry of await scope.tree.list(fileIn(scope, 'cmd'))) if (entry.kind === 'dir') commands.push(entry.name);
  const base = moduleName?.split('/').pop();
  const ordered = [...commands].sort((a, b) => Number(b === base) - Number(a === base) || Number(b === 'server') - Number(a === 'server'));
  for (const name of ordered) {
    const sources = await goSources(scope, `cmd/${name}`);
    if (sources.some((source) => isMainPackage(source.text))) {
      return { dir: `cmd/${name}`, sources, others: ordered.filter((other) => other !== name).map((other) => `cmd/${other}`) };
    }
  }
  return undefined;
}

export async function detectGo(scope: Scope): Promise<{ service?: ServiceDraft; hint?: string } | undefined> {
  const text = await readIn(scope, 'go.mod');
  if (text === undefined) return undefined;
  const mod = parseGoMod(text);
  const goModFile = fileIn(scope, 'go.mod');
  const main = await findMainPackage(scope, mod.module);
  if (!main) return { hint: `${goModFile} has no main package at the module root or under cmd/; nothing to run` };

  const evidence: Evidence[] = [];
  const notes: string[] = [];
  const found = GO_FRAMEWORKS.find(([path]) => mod.requires.some((required) => required === path || required.startsWith(`${path}/`)));
  const texts = main.sources.map((source) => source.text);
  let framework = 'Go';
  if (found) {
    framework = found[1];
    evidence.push({ file: goModFile, reason: `require ${mod.requires.find((required) => required.startsWith(found[0]))}` });
  } else if (texts.some((source) => /"net\/http"/.test(source))) {
    framework = 'Go net/http';
    const file = main.sources.find((source) => /"net\/http"/.test(source.text))!.file;
    evidence.push({ file: fileIn(scope, file), reason: 'imports net/http' });
  } else {
    evidence.push({ file: fileIn(scope, main.sources[0]!.file), reason: 'package main' });
  }
  if (main.others.length > 0) notes.push(`also found ${main.others.join(', ')}; add a service per command that should run`);

  let port: number | '$PORT' = '$PORT';
  const use = portUse(texts);
  // Gin's Run() with no address reads PORT itself.
  const ginReadsPort = framework === 'Gin' && texts.some((source) => /\.Run\(\s*\)/.test(source));
  if (!ginReadsPort && use.kind === 'fixed') {
    port = use.port;
    const pinned = main.sources.find((source) => portUse([source.text]).kind === 'fixed') ?? main.sources[0]!;
    notes.push(fixedPortNote(fileIn(scope, pinned.file), use.port));
  } else if (!ginReadsPort && use.kind === 'unknown') {
    notes.push(`could not see where ${fileIn(scope, main.dir)} picks its port; listen on os.Getenv("PORT")`);
  }
  const target = main.dir === '.' ? '.' : `./${main.dir}`;
  return {
    service: {
      path: scope.dir,
      runtime: 'go',
      framework,
      packageManager: 'go',
      packageManagerEvidence: { file: goModFile, reason: `module ${mod.module ?? ''}`.trim() },
      install: 'go mod download',
      build: `go build -o ./bin/app ${target}`,
      start: './bin/app',
      port,
      ...(healthRoute(texts) ? { health: healthRoute(texts)! } : {}),
      ...(framework === 'Gin' ? { env: { GIN_MODE: 'release' } } : {}),
      evidence: [...evidence, { file: goModFile, reason: `module ${mod.module ?? '(unnamed)'}` }],
      notes,
    },
  };
}
