/**
 * Toolchain versions for the dependency key: a node_modules built by one node or npm (native
 * modules, lockfile format) is not the one another would build. Each tool is asked once per
 * process and search path; asking npm costs a few hundred milliseconds.
 */
import { execFile } from 'node:child_process';
import { MaestroError } from '../../common/index.js';

const VERSION_COMMANDS: Record<string, readonly [string, ...string[]]> = {
  node: ['node', '--version'],
  npm: ['npm', '--version'],
  pnpm: ['pnpm', '--version'],
  yarn: ['yarn', '--version'],
  bun: ['bun', '--version'],
  deno: ['deno', '--version'],
  python: ['python3', '--version'],
  pip: ['python3', '-m', 'pip', '--version'],
  poetry: ['poetry', '--version'],
  uv: ['uv', '--version'],
  pipenv: ['pipenv', '--version'],
  go: ['go', 'version'],
  ruby: ['ruby', '--version'],
  bundler: ['bundle', '--version'],
  cargo: ['cargo', '--version'],
  rustc: ['rustc', '--version'],
  java: ['java', '-version'],
};

export const TOOLCHAIN_KINDS = Object.keys(VERSION_COMMANDS).sort();

/** What a tool that is not on the search path reports: installing it later changes the key. */
export const NOT_INSTALLED = 'not installed';

const PROBE_TIMEOUT_MS = 15_000;
const probes = new Map<string, Promise<string>>();

/**
 * Version of each tool named in `kinds` (see TOOLCHAIN_KINDS), run with `env` (default: this
 * process's); a tool that is missing reports "not installed", one that fails "unavailable (...)".
 */
export async function toolchainVersions(kinds: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<Record<string, string>> {
  const unknown = kinds.filter((kind) => !Object.hasOwn(VERSION_COMMANDS, kind));
  if (unknown.length > 0) {
    throw new MaestroError('validation_error', `unknown toolchain ${unknown.map((kind) => `"${kind.slice(0, 40)}"`).join(', ')}; known: ${TOOLCHAIN_KINDS.join(', ')}`);
  }
  const versions: Record<string, string> = {};
  const sorted = [...new Set(kinds)].sort();
  const answers = await Promise.all(sorted.map((kind) => probe(kind, env)));
  sorted.forEach((kind, index) => {
    versions[kind] = answers[index]!;
  });
  return versions;
}

function probe(kind: string, env: NodeJS.ProcessEnv): Promise<string> {
  const cacheKey = `${kind}\0${env.PATH ?? ''}`;
  let answer = probes.get(cacheKey);
  if (answer === undefined) {
    answer = runVersion(VERSION_COMMANDS[kind]!, env);
    probes.set(cacheKey, answer);
  }
  return answer;
}

function runVersion([command, ...args]: readonly [string, ...string[]], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve) => {
    execFile(command, args, { env, timeout: PROBE_TIMEOUT_MS, maxBuffer: 64 * 1024, encoding: 'utf8' }, (error, stdout, stderr) => {
      const code = (error as NodeJS.ErrnoException | null)?.code;
      if (code === 'ENOENT') return resolve(NOT_INSTALLED);
      if (error) return resolve(`unavailable (${typeof code === 'number' ? `exit ${code}` : error.killed ? 'timed out' : String(code ?? 'failed')})`);
      // java -version writes to stderr; the first line names the version everywhere.
      const line = `${stdout}\n${stderr}`.split('\n').find((candidate) => candidate.trim() !== '') ?? '';
      resolve(line.trim().slice(0, 200) || 'unknown');
    });
  });
}
