// `npm run bench:rollback`: Maestro's promise under steady traffic — no failed request while deploying
// and rolling back, and a rollback that is visible to users within a second.
//
// Maestro runs in this process (API, control plane, embedded database; the router and the apps are its
// own child processes). A second process (bench/load-worker.ts) sends ~200 requests/s through the router
// for the whole run and records every answer. Then, N times: deploy examples/node-hello as v2 (the same
// source each time after the first, so the build is reused, as for a redeploy), and roll back to v1.
//
// Figures:
// - deploy time: from the start of the deploy (pack + upload + create, the same API calls as
//   `maestro deploy`) to the first answer from v2 through the router, polled every ~10 ms: what a
//   user waits for before seeing the change.
// - rollback time: from the rollback API call to the moment every answer the load process gets comes from
//   v1. Taken from the load process's own timeline rather than from probes sent by this process: that
//   traffic is steady, sent from outside the control plane's event loop, and every answer counts —
//   including a straggler from v2 or a failed request after the switch, which a probe that stops at
//   "20 v1 answers in a row" could miss. Precisely: the end of the first v1 answer after the last answer
//   that was not v1 (or not a success) since the call; at 200 requests/s that resolution is ~5 ms.
// - the rollback's own durationMs as the API reports it (server side, up to the router taking the table).
//
// Targets: 0 failed requests; rollback p95 <= 1 s (to a warm revision); deploy p50 <= 3 s.
// Exit status 1 if any target is missed. Options: --cycles 20 --rate 200 --connections 4, and
// --timeline FILE to write every request and every deploy/rollback moment as JSON for a closer look.
import { fork, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { Pool, request } from 'undici';
import { packSource } from '../src/build/index.js';
import { silentLogger } from '../src/common/index.js';
import { DEFAULT_OPTIONS, startMaestro, type DeploymentView, type RunningMaestro } from '../src/server/index.js';
import type { LoadReport, LoadStart } from './load-worker.js';

const { values } = parseArgs({
  options: {
    cycles: { type: 'string', default: '20' },
    rate: { type: 'string', default: '200' },
    connections: { type: 'string', default: '4' },
    timeline: { type: 'string' },
  },
});
const CYCLES = positive('cycles', values.cycles);
const RATE = positive('rate', values.rate);
const CONNECTIONS = positive('connections', values.connections);

const PROJECT = 'hello';
const SERVICE = 'web';
const ENVIRONMENT = 'production';
const HOST = `${SERVICE}.${ENVIRONMENT}.${PROJECT}.localhost`;
const EXAMPLE = fileURLToPath(new URL('../examples/node-hello', import.meta.url));
const WORKER = fileURLToPath(new URL('./load-worker.ts', import.meta.url));

const TARGET_ROLLBACK_P95_MS = 1_000;
const TARGET_DEPLOY_P50_MS = 3_000;
/** Steady traffic after a deploy and after a rollback, so each switch and its tail show in the timeline. */
const SETTLE_MS = 300;
const AFTER_ROLLBACK_MS = 700;
const PROBE_EVERY_MS = 10;
const DEPLOY_TIMEOUT_MS = 60_000;
/** The whole run is meant to take ~2-3 minutes; past this something is stuck. */
const WATCHDOG_MS = 6 * 60_000;

function positive(name: string, value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) throw new Error(`--${name} takes a positive whole number, got "${value}"`);
  return number;
}

/** The same clock as the load process: epoch milliseconds with sub-millisecond resolution. */
const now = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function percentile(values: number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

const ms = (value: number): string => (Number.isFinite(value) ? `${Math.round(value)} ms` : Number.isNaN(value) ? 'n/a' : 'never');

class Api {
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
}

/** Through the router, the way a user sees the service: which version answers now. */
class Probe {
  private readonly pool: Pool;
  constructor(routerPort: number) {
    this.pool = new Pool(`http://127.0.0.1:${routerPort}`, { connections: 1, headersTimeout: 5_000, bodyTimeout: 5_000 });
  }

  async version(): Promise<string | undefined> {
    try {
      const response = await this.pool.request({ method: 'GET', path: '/', headers: { host: HOST } });
      const body = await response.body.text();
      return response.statusCode === 200 ? /version=(\S+)/.exec(body)?.[1] : undefined;
    } catch {
      return undefined;
    }
  }

  /** Resolves with the time of the first answer from `version`; gives up when `stop()` says so or on timeout. */
  async until(version: string, stop: () => boolean, timeoutMs = DEPLOY_TIMEOUT_MS): Promise<number> {
    const deadline = now() + timeoutMs;
    while (now() < deadline && !stop()) {
      if ((await this.version()) === version) return now();
      await sleep(PROBE_EVERY_MS);
    }
    throw new Error(`the router did not serve ${version} within ${timeoutMs} ms`);
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

/** The steps of `maestro deploy`, against the API directly: pack, upload unless the server has it, create, follow. */
async function deploy(api: Api, dir: string): Promise<DeploymentView> {
  const packed = await packSource(dir);
  const has = await api.call('HEAD', `/v1/sources/${packed.digest}`);
  if (has.status !== 200) await api.call('POST', '/v1/sources', undefined, packed.archive);
  const created = await api.call<{ deployments: DeploymentView[] }>('POST', `/v1/projects/${PROJECT}/deployments`, {
    source: packed.digest,
    environment: ENVIRONMENT,
  });
  const id = created.body.deployments[0]!.id;
  const deadline = now() + DEPLOY_TIMEOUT_MS;
  while (now() < deadline) {
    const { body } = await api.call<DeploymentView>('GET', `/v1/deployments/${id}`);
    if (body.status === 'succeeded') return body;
    if (body.status === 'failed' || body.status === 'cancelled') throw new Error(`deployment ${id} ${body.status}: ${body.error}`);
    await sleep(25);
  }
  throw new Error(`deployment ${id} did not finish within ${DEPLOY_TIMEOUT_MS} ms`);
}

interface DeployFigures {
  deploymentId: string;
  /** Start of the deploy call to the first answer of the new version through the router. */
  visibleMs: number;
  /** Start of the deploy call to the deployment's `succeeded` (the old revision parked warm). */
  finishedMs: number;
}

/** Deploy and, at the same time, watch the router for the new version. */
async function timedDeploy(api: Api, probe: Probe, dir: string, version: string): Promise<DeployFigures> {
  const started = now();
  let finished = false;
  const deploying = deploy(api, dir).finally(() => (finished = true));
  // The deployment may fail before the router ever shows the version: the probe stops then too.
  const visible = probe.until(version, () => finished).catch(async (error: unknown) => {
    await deploying;
    // It finished successfully before the probe saw it (the probe was between two polls): one last look.
    if ((await probe.version()) === version) return now();
    throw error;
  });
  const [visibleAt, deployment] = await Promise.all([visible, deploying]);
  return { deploymentId: deployment.id, visibleMs: visibleAt - started, finishedMs: now() - started };
}

interface RollbackResult {
  release: number;
  revision: string;
  from: number;
  warm: boolean;
  durationMs: number;
}

interface Cycle {
  deploy: DeployFigures;
  rollbackStartedAt: number;
  rollbackApiMs: number;
  rollback: RollbackResult;
  /** Filled from the load timeline at the end. */
  rollbackVisibleMs?: number;
}

/** A labelled moment, to say where in the run a failed request happened. */
interface Mark {
  at: number;
  label: string;
}

function startWorker(routerPort: number): Promise<{ child: ChildProcess; stop: () => Promise<LoadReport> }> {
  const child = fork(WORKER, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const start: LoadStart = { type: 'start', port: routerPort, host: HOST, rate: RATE, connections: CONNECTIONS };
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
      resolve({ child, stop });
    });
    child.send(start);
  });
}

/** Each request in the timeline, ordered by when its answer arrived. */
interface Answer {
  startedAt: number;
  endedAt: number;
  ok: boolean;
  version: string | undefined;
}

function answers(report: LoadReport): Answer[] {
  const okOutcome = report.outcomes.indexOf('ok');
  const list: Answer[] = report.endedAt.map((endedAt, i) => ({
    startedAt: report.startedAt[i]!,
    endedAt,
    ok: report.outcome[i] === okOutcome,
    version: report.version[i]! >= 0 ? report.versions[report.version[i]!] : undefined,
  }));
  return list.sort((a, b) => a.endedAt - b.endedAt);
}

/**
 * When every answer the load process got came from v1: the end of the first good v1 answer after the
 * last answer (in this cycle's window) that was anything else. Undefined if v1 never held the window's end.
 */
function rollbackVisibleAt(timeline: Answer[], from: number, until: number): number | undefined {
  let firstV1After: number | undefined;
  for (const answer of timeline) {
    if (answer.endedAt < from) continue;
    if (answer.endedAt >= until) break;
    if (answer.ok && answer.version === 'v1') {
      firstV1After ??= answer.endedAt;
    } else {
      firstV1After = undefined;
    }
  }
  return firstV1After;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((cells) => cells[column]!.length)));
  return rows.map((cells) => cells.map((cell, column) => cell.padEnd(widths[column]!)).join('   ').trimEnd()).join('\n');
}

async function main(): Promise<number> {
  const runStarted = now();
  const temp = mkdtempSync(join(tmpdir(), 'maestro-bench-rollback-'));
  let maestro: RunningMaestro | undefined;
  let worker: { child: ChildProcess; stop: () => Promise<LoadReport> } | undefined;
  let probe: Probe | undefined;
  const cleanup = async (): Promise<void> => {
    if (worker && worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill('SIGKILL');
    await probe?.close().catch(() => undefined);
    await maestro?.stop({ stopApps: true }).catch((error: unknown) => console.error(`could not stop Maestro cleanly: ${String(error)}`));
    rmSync(temp, { recursive: true, force: true });
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void cleanup().finally(() => process.exit(130)));
  }
  const watchdog = setTimeout(() => {
    console.error(`the benchmark has run for ${WATCHDOG_MS / 60_000} minutes; something is stuck, giving up`);
    void cleanup().finally(() => process.exit(1));
  }, WATCHDOG_MS);
  watchdog.unref();

  try {
    // v2 is the example with one line changed: APP_VERSION v1 -> v2.
    const v2Dir = join(temp, 'v2');
    cpSync(EXAMPLE, v2Dir, { recursive: true });
    const manifestFile = join(v2Dir, 'maestro.yml');
    const manifest = readFileSync(manifestFile, 'utf8');
    if (!/APP_VERSION: v1\b/.test(manifest)) throw new Error(`${EXAMPLE}/maestro.yml no longer sets APP_VERSION: v1; update the benchmark`);
    writeFileSync(manifestFile, manifest.replace(/APP_VERSION: v1\b/, 'APP_VERSION: v2'));

    maestro = await startMaestro({
      ...DEFAULT_OPTIONS,
      dataDir: join(temp, 'data'),
      apiPort: 0,
      routerPort: 0,
      routerAdminPort: 0,
      logger: silentLogger(),
    });
    if (!maestro.createdAdminToken) throw new Error('a fresh data directory should have produced an admin token');
    const api = new Api(maestro.apiUrl, maestro.createdAdminToken);
    probe = new Probe(maestro.routerPort);
    console.log(`Maestro rollback benchmark: ${CYCLES} cycles of deploy v2 -> roll back to v1, under ${RATE} requests/s through the router`);
    console.log(`(Maestro started in ${ms(now() - runStarted)}; API ${maestro.apiUrl}, router port ${maestro.routerPort})`);

    const first = await timedDeploy(api, probe, EXAMPLE, 'v1');
    console.log(`v1 deployed and serving in ${ms(first.visibleMs)}`);

    worker = await startWorker(maestro.routerPort);
    const marks: Mark[] = [{ at: now(), label: 'load started' }];
    await sleep(1_000);

    const cycles: Cycle[] = [];
    for (let i = 1; i <= CYCLES; i += 1) {
      marks.push({ at: now(), label: `cycle ${i} deploy` });
      const deployed = await timedDeploy(api, probe, v2Dir, 'v2');
      await sleep(SETTLE_MS);

      const rollbackStartedAt = now();
      marks.push({ at: rollbackStartedAt, label: `cycle ${i} rollback` });
      const { body: rollback } = await api.call<RollbackResult>('POST', `/v1/projects/${PROJECT}/services/${SERVICE}/environments/${ENVIRONMENT}/rollback`, {
        reason: `bench cycle ${i}`,
      });
      const rollbackApiMs = now() - rollbackStartedAt;
      // Sanity check only (the figure comes from the load timeline): v1 answers through the router.
      await probe.until('v1', () => false, 10_000);
      cycles.push({ deploy: deployed, rollbackStartedAt, rollbackApiMs, rollback });
      process.stdout.write(
        `cycle ${String(i).padStart(2)}: deploy visible ${ms(deployed.visibleMs).padStart(8)} (finished ${ms(deployed.finishedMs)}), ` +
          `rollback API ${ms(rollbackApiMs)} (server ${rollback.durationMs} ms${rollback.warm ? ', warm' : ', cold'})\n`,
      );
      await sleep(AFTER_ROLLBACK_MS);
    }
    marks.push({ at: now(), label: 'load stopping' });

    const report = await worker.stop();
    const timeline = answers(report);
    cycles.forEach((cycle, index) => {
      const until = index + 1 < cycles.length ? marks.find((mark) => mark.label === `cycle ${index + 2} deploy`)!.at : Number.POSITIVE_INFINITY;
      const visibleAt = rollbackVisibleAt(timeline, cycle.rollbackStartedAt, until);
      if (visibleAt !== undefined) cycle.rollbackVisibleMs = visibleAt - cycle.rollbackStartedAt;
    });
    if (values.timeline) writeFileSync(values.timeline, JSON.stringify({ marks, cycles, report }));

    // Which deploys of v2 ran a build, and which reused the first one's artifact.
    let builds = 0;
    for (const cycle of cycles) if ((await maestro.store.builds.forDeployment(cycle.deploy.deploymentId)).length > 0) builds += 1;

    return summarise(report, cycles, marks, builds, now() - runStarted);
  } finally {
    clearTimeout(watchdog);
    await cleanup();
  }
}

function summarise(report: LoadReport, cycles: Cycle[], marks: Mark[], builds: number, runMs: number): number {
  const okOutcome = report.outcomes.indexOf('ok');
  const answered = report.endedAt.length;
  const failedOutcomes = report.outcome.filter((outcome) => outcome !== okOutcome).length;
  const failed = failedOutcomes + report.abandoned;
  const loadSeconds = (Math.max(...report.endedAt) - Math.min(...report.startedAt)) / 1000;
  const byVersion = new Map<string, number>();
  report.version.forEach((version, i) => {
    if (report.outcome[i] !== okOutcome) return;
    const name = report.versions[version] ?? '?';
    byVersion.set(name, (byVersion.get(name) ?? 0) + 1);
  });

  const rollbackMs = cycles.map((cycle) => cycle.rollbackVisibleMs ?? Number.POSITIVE_INFINITY);
  const warmRollbackMs = cycles.filter((cycle) => cycle.rollback.warm).map((cycle) => cycle.rollbackVisibleMs ?? Number.POSITIVE_INFINITY);
  const deployMs = cycles.map((cycle) => cycle.deploy.visibleMs);
  const deployFinishedMs = cycles.map((cycle) => cycle.deploy.finishedMs);
  const serverMs = cycles.map((cycle) => cycle.rollback.durationMs);
  const apiMs = cycles.map((cycle) => cycle.rollbackApiMs);
  const warm = cycles.filter((cycle) => cycle.rollback.warm).length;

  const rollbackP95 = percentile(warmRollbackMs, 0.95);
  const deployP50 = percentile(deployMs, 0.5);
  const checks = {
    failed: failed === 0,
    mismatched: report.mismatched === 0,
    rollback: warm > 0 && rollbackP95 <= TARGET_ROLLBACK_P95_MS,
    deploy: deployP50 <= TARGET_DEPLOY_P50_MS,
  };
  const verdict = (ok: boolean): string => (ok ? 'PASS' : 'FAIL');

  console.log('');
  console.log(
    `load: ${report.sent} requests sent in ${loadSeconds.toFixed(1)} s (${(report.sent / loadSeconds).toFixed(0)}/s), ${answered} answered, ` +
      `${report.abandoned} unanswered at the end, ${report.skipped} timer slots skipped`,
  );
  console.log(`answers by version: ${[...byVersion].map(([version, count]) => `${version} ${count}`).join(', ')}`);
  console.log(`rollbacks to a warm revision: ${warm}/${cycles.length}; deploys of v2 that ran a build: ${builds}/${cycles.length} (the others reused its artifact)`);
  console.log('');
  console.log(
    table([
      ['figure', 'p50', 'p95', 'max', 'target', 'result'],
      ['failed requests', String(failed), '', '', '0', verdict(checks.failed)],
      ['answers from the wrong revision', String(report.mismatched), '', '', '0', verdict(checks.mismatched)],
      ['rollback visible to the load (warm)', ms(percentile(warmRollbackMs, 0.5)), ms(rollbackP95), ms(Math.max(...warmRollbackMs)), 'p95 <= 1000 ms', verdict(checks.rollback)],
      ['rollback API call, client side', ms(percentile(apiMs, 0.5)), ms(percentile(apiMs, 0.95)), ms(Math.max(...apiMs)), '', ''],
      ['rollback durationMs, server side', ms(percentile(serverMs, 0.5)), ms(percentile(serverMs, 0.95)), ms(Math.max(...serverMs)), '', ''],
      ['deploy until v2 serves', ms(deployP50), ms(percentile(deployMs, 0.95)), ms(Math.max(...deployMs)), 'p50 <= 3000 ms', verdict(checks.deploy)],
      ['deploy until succeeded', ms(percentile(deployFinishedMs, 0.5)), ms(percentile(deployFinishedMs, 0.95)), ms(Math.max(...deployFinishedMs)), '', ''],
    ]),
  );
  if (rollbackMs.length !== warmRollbackMs.length) {
    console.log(`(cold rollbacks, not held to the 1 s target: ${cycles.filter((c) => !c.rollback.warm).map((c) => ms(c.rollbackVisibleMs ?? Infinity)).join(', ')})`);
  }
  if (cycles.some((cycle) => cycle.rollbackVisibleMs === undefined)) {
    console.log('(some rollbacks never showed v1 alone to the load before the next deploy: counted as infinitely slow)');
  }

  if (failed > 0) {
    console.log('\nfailed requests by cause:');
    const counts = new Map<string, number>();
    report.outcome.forEach((outcome) => {
      if (outcome !== okOutcome) counts.set(report.outcomes[outcome]!, (counts.get(report.outcomes[outcome]!) ?? 0) + 1);
    });
    if (report.abandoned > 0) counts.set('no answer before the load stopped', report.abandoned);
    for (const [cause, count] of [...counts].sort((a, b) => b[1] - a[1])) console.log(`  ${String(count).padStart(6)}  ${cause}`);
    console.log('first failures (when, where in the run, what):');
    for (const failure of report.failures.slice(0, 10)) {
      const mark = [...marks].reverse().find((candidate) => candidate.at <= failure.at);
      const where = mark ? `${mark.label} +${Math.round(failure.at - mark.at)} ms` : 'before the load started';
      console.log(`  ${new Date(failure.at).toISOString()}  ${where}: ${failure.error}: ${failure.body.replace(/\s+/g, ' ').slice(0, 160)}`);
    }
  }

  const allPass = Object.values(checks).every(Boolean);
  console.log(`\n${allPass ? 'PASS' : 'FAIL'}: whole run ${(runMs / 1000).toFixed(0)} s`);
  return allPass ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exit(1);
  },
);
