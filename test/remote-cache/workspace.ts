/**
 * A tiny npm-workspaces monorepo (two packages whose `build` writes dist/out.txt) and the real
 * `turbo` and `nx` commands run against it offline. Used by the client tests and the benchmark.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const TURBO_BIN = join(ROOT, 'node_modules/turbo/bin/turbo');
export const NX_PACKAGE = join(ROOT, 'node_modules/nx');
export const PACKAGES = ['alpha', 'beta'] as const;

export interface WorkspaceOptions {
  /** turbo's artifact signing (`remoteCache.signature`). */
  signature?: boolean;
  /** Milliseconds each package's build spends before writing its output (for the benchmark). */
  buildMs?: number;
}

/** Creates the workspace in a new temporary folder and returns its path. */
export async function createWorkspace(options: WorkspaceOptions = {}): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'maestro-cache-ws-'));
  const json = (path: string, value: unknown): Promise<void> => writeFile(join(dir, path), JSON.stringify(value, null, 2) + '\n');
  await json('package.json', { name: 'cache-fixture', private: true, workspaces: ['packages/*'], packageManager: 'npm@10.9.0' });
  // What `npm install` writes for two linked workspace packages and no dependencies.
  const lock: Record<string, unknown> = { '': { name: 'cache-fixture', workspaces: ['packages/*'] } };
  for (const name of PACKAGES) {
    lock[`node_modules/${name}`] = { resolved: `packages/${name}`, link: true };
    lock[`packages/${name}`] = { version: '1.0.0' };
  }
  await json('package-lock.json', { name: 'cache-fixture', lockfileVersion: 3, requires: true, packages: lock });
  await json('turbo.json', {
    $schema: 'https://turborepo.com/schema.json',
    ...(options.signature ? { remoteCache: { signature: true } } : {}),
    tasks: { build: { outputs: ['dist/**'] } },
  });
  await json('nx.json', { targetDefaults: { build: { cache: true, outputs: ['{projectRoot}/dist'] } } });
  await writeFile(
    join(dir, 'build.js'),
    `// Spends a while, like a compiler would, then writes the package's output.
const { mkdirSync, writeFileSync } = require('node:fs');
const until = Date.now() + ${options.buildMs ?? 0};
while (Date.now() < until);
mkdirSync('dist', { recursive: true });
writeFileSync('dist/out.txt', 'built ' + require(process.cwd() + '/package.json').name + '\\n');
`,
  );
  for (const name of PACKAGES) {
    await mkdir(join(dir, 'packages', name), { recursive: true });
    await json(`packages/${name}/package.json`, { name, version: '1.0.0', scripts: { build: 'node ../../build.js' } });
    await writeFile(join(dir, 'packages', name, 'index.js'), `module.exports = ${JSON.stringify(name)};\n`);
  }
  await mkdir(join(dir, 'node_modules'), { recursive: true });
  for (const name of PACKAGES) await symlink(join('..', 'packages', name), join(dir, 'node_modules', name));
  // nx runs from the workspace's own node_modules, as it would after `npm install nx`.
  await symlink(NX_PACKAGE, join(dir, 'node_modules', 'nx'));
  return dir;
}

/**
 * Removes every local cache and every build output, so only the remote cache can help. For Nx that is
 * all of .nx: Nx 22 indexes its cache in .nx/workspace-data, and with only .nx/cache gone it claims a
 * local hit and restores nothing.
 */
export async function clearLocal(dir: string): Promise<void> {
  for (const path of ['.turbo', 'node_modules/.cache', '.nx', ...PACKAGES.flatMap((name) => [`packages/${name}/dist`, `packages/${name}/.turbo`])]) {
    await rm(join(dir, path), { recursive: true, force: true });
  }
}

export interface RunResult {
  code: number;
  output: string;
  ms: number;
}

/** The caller's environment without any turbo or Nx settings of its own, plus telemetry off. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^(TURBO_|NX_|VERCEL_)/.test(key)) env[key] = value;
  }
  return { ...env, TURBO_TELEMETRY_DISABLED: '1', DO_NOT_TRACK: '1', TURBO_NO_UPDATE_NOTIFIER: '1', NX_NO_CLOUD: 'true', NX_DAEMON: 'false', NX_TUI: 'false', CI: '', ...extra };
}

function run(command: string, args: string[], cwd: string, env: Record<string, string>): Promise<RunResult> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, output, ms: performance.now() - started });
    });
  });
}

/** `turbo run build`; without `api`, no remote cache at all. */
export function runTurbo(dir: string, remote?: { api: string; token: string; team: string }, extra: Record<string, string> = {}): Promise<RunResult> {
  const env: Record<string, string> = remote ? { TURBO_API: remote.api, TURBO_TOKEN: remote.token, TURBO_TEAM: remote.team } : {};
  return run(process.execPath, [TURBO_BIN, 'run', 'build'], dir, { ...env, ...extra });
}

/** `nx run-many -t build` against a self-hosted remote cache. */
export function runNx(dir: string, remote: { server: string; token: string }): Promise<RunResult> {
  return run(process.execPath, [join(NX_PACKAGE, 'dist/bin/nx.js'), 'run-many', '-t', 'build'], dir, {
    NX_SELF_HOSTED_REMOTE_CACHE_SERVER: remote.server,
    NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN: remote.token,
  });
}

/** Turbo's task hashes by package, from the lines where it says it is executing them. */
export function executedHashes(output: string): Map<string, string> {
  return new Map([...output.matchAll(/(\w+):build: cache miss, executing ([0-9a-f]+)/g)].map((match) => [match[1]!, match[2]!]));
}
