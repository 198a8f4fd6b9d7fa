import { spawn } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pool, request } from 'undici';
import { silentLogger } from '../../src/common/index.js';
import { DEFAULT_OPTIONS, startMaestro, type RunningMaestro, type UpOptions } from '../../src/server/index.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CLI = join(ROOT, 'src/cli/main-entry.ts');
export const EXAMPLES = join(ROOT, 'examples');

export interface TestMaestro extends RunningMaestro {
  token: string;
  dataDir: string;
  env: Record<string, string>;
}

/** A real Maestro (store, agent, router process, API) on free ports in a temporary data directory. */
export async function startTestMaestro(overrides: Partial<UpOptions> = {}): Promise<TestMaestro> {
  const dataDir = overrides.dataDir ?? (await mkdtemp(join(tmpdir(), 'maestro-e2e-')));
  const running = await startMaestro({
    ...DEFAULT_OPTIONS,
    apiPort: 0,
    routerPort: 0,
    routerAdminPort: 0,
    startTimeoutMs: 8_000,
    logger: silentLogger(),
    ...overrides,
    dataDir,
  });
  const token = (await readFile(running.paths.adminToken, 'utf8')).trim();
  return { ...running, token, dataDir, env: { MAESTRO_URL: running.apiUrl, MAESTRO_TOKEN: token } };
}

export async function stopTestMaestro(maestro: TestMaestro | undefined): Promise<void> {
  if (!maestro) return;
  await maestro.stop({ stopApps: true });
  await rm(maestro.dataDir, { recursive: true, force: true });
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real `maestro` command in its own process; `input`, when given, is its standard input (a password, say). */
export function cli(args: string[], env: Record<string, string> = {}, cwd = ROOT, input?: string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {
      cwd,
      env: { ...process.env, MAESTRO_LOG_LEVEL: 'silent', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    child.stdin.end(input ?? '');
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** A copy of an example with edits to its files, in a temporary folder. */
export async function exampleCopy(name: string, edits: Record<string, (text: string) => string> = {}): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `maestro-${name}-`));
  await cp(join(EXAMPLES, name), dir, { recursive: true });
  for (const [file, edit] of Object.entries(edits)) {
    const path = join(dir, file);
    await writeFile(path, edit(await readFile(path, 'utf8').catch(() => '')));
  }
  return dir;
}

export async function routerGet(
  port: number,
  host: string,
  path = '/',
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  const response = await request(`http://127.0.0.1:${port}${path}`, { headers: { ...headers, host } });
  return { status: response.statusCode, body: await response.body.text(), headers: response.headers };
}

export interface LoadReport {
  total: number;
  failed: Array<{ status?: number; error?: string }>;
  /** Bodies of the 200 answers, in the order they completed. */
  bodies: string[];
  /** Every 200 answer with when its request started and ended. */
  answers: Array<{ body: string; startedAt: number; endedAt: number }>;
}

/** Steady concurrent requests through the router until stopped; every answer that is not a 200 counts as failed. */
export function steadyLoad(port: number, host: string, concurrency = 8): { stop(): Promise<LoadReport> } {
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections: concurrency });
  const report: LoadReport = { total: 0, failed: [], bodies: [], answers: [] };
  let running = true;
  const worker = async (): Promise<void> => {
    while (running) {
      const startedAt = performance.now();
      try {
        const response = await pool.request({ method: 'GET', path: '/', headers: { host } });
        const body = await response.body.text();
        report.total += 1;
        if (response.statusCode !== 200) report.failed.push({ status: response.statusCode });
        else {
          report.bodies.push(body);
          report.answers.push({ body, startedAt, endedAt: performance.now() });
        }
      } catch (error) {
        report.total += 1;
        report.failed.push({ error: (error as Error).message });
      }
    }
  };
  const workers = Array.from({ length: concurrency }, () => worker());
  return {
    async stop() {
      running = false;
      await Promise.all(workers);
      await pool.close();
      return report;
    },
  };
}

export function versionOf(body: string): string | undefined {
  return /version=(\S+)/.exec(body)?.[1];
}

/** Environment for a stock git client in tests: a committer, and no prompt for credentials. */
export const GIT_ENV: NodeJS.ProcessEnv = {
  ...process.env,
  GIT_TERMINAL_PROMPT: '0',
  GIT_AUTHOR_NAME: 'Dev',
  GIT_AUTHOR_EMAIL: 'dev@example.com',
  GIT_COMMITTER_NAME: 'Dev',
  GIT_COMMITTER_EMAIL: 'dev@example.com',
};

/** A stock `git push` in `cwd`: its exit code and everything it printed (git's own lines and the remote's). */
export function gitPush(cwd: string, ...args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', ['push', ...args], { cwd, env: GIT_ENV, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, output }));
  });
}
