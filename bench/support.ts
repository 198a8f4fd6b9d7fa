// What bench/build.ts, bench/build-interference.ts and bench/pipelines.ts share: Maestro started in this
// process on free ports in a temporary folder, the API calls of `maestro deploy`, the builds API, the
// load process (bench/load-worker.ts) and a few figures.
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { Pool, request } from 'undici';
import { packSource } from '../src/build/index.js';
import { silentLogger } from '../src/common/index.js';
import { DEFAULT_OPTIONS, startMaestro, type DeploymentView, type RunningMaestro, type UpOptions } from '../src/server/index.js';
import type { LoadReport, LoadStart } from './load-worker.js';

export type { DeploymentView, LoadReport };

/** Epoch milliseconds with sub-millisecond resolution: the same clock as the load process. */
export const now = (): number => performance.timeOrigin + performance.now();
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export const median = (values: readonly number[]): number => percentile(values, 0.5);

export const ms = (value: number): string => (Number.isFinite(value) ? `${Math.round(value)} ms` : Number.isNaN(value) ? 'n/a' : 'never');
export const seconds = (value: number): string => (Number.isFinite(value) ? `${(value / 1000).toFixed(2)} s` : 'n/a');

export function positive(name: string, value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) throw new Error(`--${name} takes a positive whole number, got "${value}"`);
  return number;
}

export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((cells) => (cells[column] ?? '').length)));
  return rows.map((cells) => cells.map((cell, column) => cell.padEnd(widths[column]!)).join('   ').trimEnd()).join('\n');
}

export class Api {
  constructor(
    readonly url: string,
    private readonly token: string,
  ) {}

  async call<T>(method: 'GET' | 'POST' | 'HEAD', path: string, body?: unknown, raw?: Buffer): Promise<{ status: number; body: T }> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (raw !== undefined) headers['content-type'] = 'application/gzip';
    const response = await request(`${this.url}${path}`, {
      method,
      headers,
      ...(body !== undefined ? { body: JSON.stringify(body) } : raw !== undefined ? { body: raw } : {}),
    });
    const text = await response.body.text();
    if (response.statusCode >= 400 && method !== 'HEAD') throw new Error(`${method} ${path} answered ${response.statusCode}: ${text.slice(0, 500)}`);
    return { status: response.statusCode, body: (text ? JSON.parse(text) : undefined) as T };
  }

  /** Pack and upload a folder unless the server has it already; the source digest. */
  async upload(dir: string): Promise<string> {
    const packed = await packSource(dir);
    const has = await this.call('HEAD', `/v1/sources/${packed.digest}`);
    if (has.status !== 200) await this.call('POST', '/v1/sources', undefined, packed.archive);
    return packed.digest;
  }

  /** The steps of `maestro deploy` up to the deployments being created (one per service of the manifest). */
  async deploy(project: string, dir: string, environment = 'production'): Promise<DeploymentView[]> {
    const source = await this.upload(dir);
    return this.createDeployments(project, source, environment);
  }

  async createDeployments(project: string, source: string, environment = 'production'): Promise<DeploymentView[]> {
    const created = await this.call<{ deployments: DeploymentView[] }>('POST', `/v1/projects/${project}/deployments`, { source, environment });
    return created.body.deployments;
  }

  /** Poll a deployment until it ends; throws unless it succeeded. */
  async waitDeployment(id: string, timeoutMs: number, pollMs = 25): Promise<DeploymentView> {
    const deadline = now() + timeoutMs;
    while (now() < deadline) {
      const { body } = await this.call<DeploymentView>('GET', `/v1/deployments/${id}`);
      if (body.status === 'succeeded') return body;
      if (body.status === 'failed' || body.status === 'cancelled' || body.status === 'rolled_back') {
        throw new Error(`deployment ${id} ${body.status}: ${body.error}`);
      }
      await sleep(pollMs);
    }
    throw new Error(`deployment ${id} did not finish within ${timeoutMs} ms`);
  }

  async builds(project: string, limit = 20): Promise<BuildView[]> {
    return (await this.call<{ builds: BuildView[] }>('GET', `/v1/builds?project=${encodeURIComponent(project)}&limit=${limit}`)).body.builds;
  }

  async build(id: string): Promise<BuildView> {
    return (await this.call<BuildView>('GET', `/v1/builds/${id}`)).body;
  }

  /** The build of a deployment (the newest one of its project that names it). */
  async buildOf(deployment: DeploymentView): Promise<BuildView> {
    const build = (await this.builds(deployment.project, 50)).find((candidate) => candidate.deployment === deployment.id);
    if (!build) throw new Error(`no build listed for deployment ${deployment.id}`);
    return build;
  }
}

/** GET /v1/builds as this benchmark reads it. */
export interface BuildView {
  id: string;
  deployment: string;
  project: string;
  service: string;
  status: string;
  error: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  queueWaitMs: number | null;
  attempts: number;
  steps: Array<{ name: string; status: string; cache: 'hit' | 'miss' | null; durationMs: number | null; attempt: number }>;
}

/** A build's own time: from a runner starting it to its end (a reused artifact has no start: created to end). */
export function buildDurationMs(build: BuildView): number {
  if (!build.finishedAt) return Number.NaN;
  return Date.parse(build.finishedAt) - Date.parse(build.startedAt ?? build.createdAt);
}

export interface BenchMaestro {
  maestro: RunningMaestro;
  api: Api;
  dir: string;
  stop(): Promise<void>;
}

export const UNLIMITED = { perTokenPerMinute: 1_000_000_000, perAddressPerMinute: 1_000_000_000 };

/** A Maestro of its own in a fresh temporary data folder; `stop` ends it, its router and apps, and removes the folder. */
export async function startBenchMaestro(name: string, overrides: Partial<UpOptions> = {}): Promise<BenchMaestro> {
  const dir = mkdtempSync(join(tmpdir(), `maestro-bench-${name}-`));
  let maestro: RunningMaestro;
  try {
    maestro = await startMaestro({
      ...DEFAULT_OPTIONS,
      dataDir: join(dir, 'data'),
      apiPort: 0,
      routerPort: 0,
      routerAdminPort: 0,
      logger: silentLogger(),
      // Benchmarks poll the API every 25 ms to time what they measure; the API's rate limits are not that.
      rateLimits: UNLIMITED,
      ...overrides,
    });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  if (!maestro.createdAdminToken) throw new Error('a fresh data directory should have produced an admin token');
  let stopped = false;
  return {
    maestro,
    api: new Api(maestro.apiUrl, maestro.createdAdminToken),
    dir,
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        await maestro.stop({ stopApps: true });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/** One GET through the router, the way a user sees the service. */
export class RouterProbe {
  private readonly pool: Pool;
  constructor(
    routerPort: number,
    private readonly host: string,
  ) {
    this.pool = new Pool(`http://127.0.0.1:${routerPort}`, { connections: 1, headersTimeout: 5_000, bodyTimeout: 5_000 });
  }

  async get(path = '/'): Promise<{ status: number; body: string; revision: string | undefined } | undefined> {
    try {
      const response = await this.pool.request({ method: 'GET', path, headers: { host: this.host } });
      const body = await response.body.text();
      const header = response.headers['x-maestro-revision'];
      return { status: response.statusCode, body, revision: typeof header === 'string' ? header : undefined };
    } catch {
      return undefined;
    }
  }

  /** The time of the first 200 answer that passes `test`, polling every `everyMs`; throws on timeout or when `stop()` says so. */
  async until(test: (answer: { body: string; revision: string | undefined }) => boolean, timeoutMs: number, stop: () => boolean = () => false, everyMs = 10): Promise<number> {
    const deadline = now() + timeoutMs;
    while (now() < deadline && !stop()) {
      const answer = await this.get();
      if (answer?.status === 200 && test(answer)) return now();
      await sleep(everyMs);
    }
    throw new Error(`the router did not serve what was expected from ${this.host} within ${timeoutMs} ms`);
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

const WORKER = fileURLToPath(new URL('./load-worker.ts', import.meta.url));

export interface LoadProcess {
  child: ChildProcess;
  stop(): Promise<LoadReport>;
  kill(): void;
}

/** Steady open-loop traffic through the router from its own process (bench/load-worker.ts). */
export function startLoad(start: Omit<LoadStart, 'type'>): Promise<LoadProcess> {
  const child = fork(WORKER, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const kill = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null): void => reject(new Error(`the load process exited with ${code} before it started`));
    child.once('exit', onExit);
    child.once('message', (message: { type: string }) => {
      if (message.type !== 'started') return reject(new Error(`unexpected message from the load process: ${JSON.stringify(message)}`));
      child.off('exit', onExit);
      const stop = (): Promise<LoadReport> =>
        new Promise((resolveReport, rejectReport) => {
          child.once('message', (report: LoadReport) => resolveReport(report));
          child.once('exit', (code) => rejectReport(new Error(`the load process exited with ${code} without its report`)));
          child.send({ type: 'stop' });
        });
      resolve({ child, stop, kill });
    });
    child.send({ type: 'start', ...start } satisfies LoadStart);
  });
}

/** How long the watchdog lets the clean-up run before it exits anyway. */
const CLEANUP_GRACE_MS = 60_000;

/**
 * Run `body` with a watchdog and clean-up on any exit path (including Ctrl-C); the process exits with
 * the code `body` returns, 1 on an error.
 */
export function runBench(name: string, watchdogMs: number, body: (onCleanup: (task: () => Promise<void> | void) => void) => Promise<number>): void {
  const tasks: Array<() => Promise<void> | void> = [];
  let cleaning: Promise<void> | undefined;
  const cleanup = (): Promise<void> =>
    (cleaning ??= (async () => {
      for (const task of tasks.reverse()) {
        try {
          await task();
        } catch (error) {
          console.error(`clean-up: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
    })());
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void cleanup().finally(() => process.exit(130)));
  }
  const watchdog = setTimeout(() => {
    console.error(`${name} has run for ${Math.round(watchdogMs / 60_000)} minutes; something is stuck, giving up`);
    // The clean-up may be what is stuck (stopping Maestro waits for rollouts in progress): exit regardless.
    const giveUp = setTimeout(() => {
      console.error(`${name}: the clean-up did not finish within ${CLEANUP_GRACE_MS / 1000} s; its processes and temporary folders may be left behind`);
      process.exit(1);
    }, CLEANUP_GRACE_MS);
    void cleanup().finally(() => {
      clearTimeout(giveUp);
      process.exit(1);
    });
  }, watchdogMs);
  watchdog.unref();
  body((task) => tasks.push(task))
    .then(
      async (code) => {
        await cleanup();
        return code;
      },
      async (error: unknown) => {
        console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
        await cleanup();
        return 1;
      },
    )
    .then((code) => {
      clearTimeout(watchdog);
      process.exit(code);
    });
}
