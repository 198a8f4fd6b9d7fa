// `npm run bench:canary`: progressive delivery under steady traffic — how fast a bad canary is caught and
// undone, how rarely a good one is blamed, and whether traffic switches cost users a single request.
//
// Maestro runs in this process (API, control plane, embedded database; the router and the apps are its own
// child processes); bench/load-worker.ts sends open-loop traffic through the router from another process and
// records every answer (times, status, version named in the body). Every canary below is a copy of
// examples/node-hello whose server.js is changed a little: `broken` answers 500 to everything but /healthz,
// `slow` adds 400 ms to every answer, `noisy` answers 500 to 0.5% of requests at random. Every answer, good
// or bad, names its version in the body, so the timeline tells which revision served it.
//
// Scenarios (each one first makes its own stable revision live with strategy immediate):
// - broken:      canary at 10% answering 500. From its first bad answer (load timeline) to detection — the
//                rollback's "traffic: 0% to ..." progress event, recorded once the router took the stable-only
//                table (the failing verdict's own time is shown too) — target <= 2 s; to the last answer not
//                from the stable revision, target <= 3 s; and the failed requests users saw.
// - slow:        canary adding 400 ms, with {metric: latency_p95, max: 300ms}: time to detection; and no
//                failed request (its answers are slow, not wrong: a rollback must let them finish).
// - noisy:       stable and canary both fail 0.5% at random; N canary rollouts (default 20): false rollbacks,
//                target 0.
// - prometheus:  a canary with {prometheus: 'up', max: 1} while the Prometheus source is down (Maestro's
//                prometheusUrl is a closed port): it must hold (inconclusive) and pause with an alert, never
//                roll back as failed; aborted at the end.
// - high-rate:   at ~1,000 requests/s: a blue/green switch (auto_promote_after 2s), a canary promoted by
//                `maestro promote` and a canary aborted by `maestro abort`: 5xx answers and connection
//                errors, target 0. The rate actually achieved is printed.
// - full-canary: three weight steps with 5 s pauses to 100%: completes with 0 failed requests.
//
// Exit status 1 if a target is missed. Options: --only <scenario>, --runs 20 (noisy), --rate 200,
// --high-rate 1000, --hold 40 (seconds the prometheus scenario waits for the alert pause).
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { request } from 'undici';
import type { RolloutState } from '../src/rollout/index.js';
import {
  now,
  percentile,
  positive,
  runBench,
  seconds,
  sleep,
  startBenchMaestro,
  startLoad,
  table,
  type BenchMaestro,
  type DeploymentView,
  type LoadProcess,
  type LoadReport,
} from './support.js';

const SCENARIOS = ['broken', 'slow', 'noisy', 'prometheus', 'high-rate', 'full-canary'] as const;
type Scenario = (typeof SCENARIOS)[number];

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    runs: { type: 'string', default: '20' },
    rate: { type: 'string', default: '200' },
    'high-rate': { type: 'string', default: '1000' },
    hold: { type: 'string', default: '40' },
  },
});
const ONLY = values.only?.split(',').map((name) => name.trim());
for (const name of ONLY ?? []) {
  if (!(SCENARIOS as readonly string[]).includes(name)) throw new Error(`--only takes one of ${SCENARIOS.join(', ')} (or several, comma-separated), got "${name}"`);
}
const RUNS = positive('runs', values.runs);
const RATE = positive('rate', values.rate);
const HIGH_RATE = positive('high-rate', values['high-rate']);
const HOLD_MS = positive('hold', values.hold) * 1000;

const PROJECT = 'hello';
const SERVICE = 'web';
const ENVIRONMENT = 'production';
const HOST = `${SERVICE}.${ENVIRONMENT}.${PROJECT}.localhost`;
const EXAMPLE = fileURLToPath(new URL('../examples/node-hello', import.meta.url));
/** Enough that a slow canary's answers (400 ms each) do not queue the others behind them in the client. */
const CONNECTIONS = 16;
const HIGH_RATE_CONNECTIONS = 32;
const DEPLOY_TIMEOUT_MS = 90_000;
const WATCHDOG_MS = 15 * 60_000;

const TARGET_DETECTION_MS = 2_000;
const TARGET_STABLE_MS = 3_000;

// ---------------------------------------------------------------------------------------------------------
// Versions of node-hello

type Behaviour = 'ok' | 'broken' | 'slow' | 'noisy';

const STRATEGIES = {
  immediate: `    strategy: immediate`,
  broken: `    strategy:
      type: canary
      steps: [{weight: 10}, {pause: 5s}, {weight: 50}, {pause: 5s}]
      analysis: {interval: 500ms, min_requests: 20, checks: [{metric: error_rate, max: 1%}]}
      watch: 5s`,
  slow: `    strategy:
      type: canary
      steps: [{weight: 10}, {pause: 5s}, {weight: 50}, {pause: 5s}]
      analysis: {interval: 500ms, min_requests: 20, checks: [{metric: error_rate, max: 1%}, {metric: latency_p95, max: 300ms}]}
      watch: 5s`,
  noisy: `    strategy:
      type: canary
      steps: [{weight: 20}, {pause: 3s}, {weight: 50}, {pause: 3s}]
      analysis: {interval: 500ms, min_requests: 20, checks: [{metric: error_rate, max: 1%}]}
      watch: 2s`,
  prometheus: `    strategy:
      type: canary
      steps: [{weight: 10}, {pause: 5s}, {weight: 50}, {pause: 5s}]
      analysis: {interval: 500ms, min_requests: 20, checks: [{prometheus: 'up', max: 1}]}
      watch: 5s`,
  blueGreen: `    strategy:
      type: blue_green
      auto_promote_after: 2s
      scale_down_delay: 5s`,
  manual: `    strategy:
      type: canary
      steps: [{weight: 20}, {pause: {}}]
      analysis: {interval: 500ms, min_requests: 20, checks: [{metric: error_rate, max: 1%}]}
      watch: 2s`,
  full: `    strategy:
      type: canary
      steps: [{weight: 10}, {pause: 5s}, {weight: 40}, {pause: 5s}, {weight: 70}, {pause: 5s}]
      analysis: {interval: 500ms, min_requests: 20, checks: [{metric: error_rate, max: 1%}]}
      watch: 2s`,
} as const;

const OK_LINE = "  response.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });";
const HANDLER_LINE = 'const server = createServer((request, response) => {';
/** An error page that still names its version and revision, so the timeline knows who answered. */
const ERROR_ANSWER = "response.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }); response.end(`failing on purpose version=${version} revision=${revision}\\n`); return;";

const BEHAVIOURS: Record<Behaviour, (server: string) => string> = {
  ok: (server) => server,
  broken: (server) => server.replace(OK_LINE, `  ${ERROR_ANSWER}\n${OK_LINE}`),
  slow: (server) =>
    server.replace(HANDLER_LINE, HANDLER_LINE.replace('((request', '(async (request')).replace(OK_LINE, `  await new Promise((resolve) => setTimeout(resolve, 400));\n${OK_LINE}`),
  noisy: (server) => server.replace(OK_LINE, `  if (Math.random() < 0.005) { ${ERROR_ANSWER} }\n${OK_LINE}`),
};

class Versions {
  private readonly root = mkdtempSync(join(tmpdir(), 'maestro-bench-canary-src-'));
  private readonly made = new Map<string, string>();

  /** A copy of node-hello as `name`, behaving as told, with `strategy` for production; the same name gives the same folder. */
  make(name: string, behaviour: Behaviour, strategy: string): string {
    const known = this.made.get(name);
    if (known) return known;
    const dir = join(this.root, name);
    cpSync(EXAMPLE, dir, { recursive: true });
    const manifest = readFileSync(join(dir, 'maestro.yml'), 'utf8');
    const server = readFileSync(join(dir, 'server.js'), 'utf8');
    for (const [text, where] of [
      ['APP_VERSION: v1', 'maestro.yml'],
      ['    strategy: immediate', 'maestro.yml'],
      [OK_LINE, 'server.js'],
      [HANDLER_LINE, 'server.js'],
    ] as const) {
      if (!(where === 'maestro.yml' ? manifest : server).includes(text)) throw new Error(`${EXAMPLE}/${where} no longer contains "${text.trim()}"; update bench/canary.ts`);
    }
    // A short drain keeps retired revisions from piling up over many rollouts on a 2-core machine.
    writeFileSync(join(dir, 'maestro.yml'), manifest.replace('APP_VERSION: v1', `APP_VERSION: ${name}`).replace('    strategy: immediate', `    drain: 1s\n${strategy}`));
    writeFileSync(join(dir, 'server.js'), BEHAVIOURS[behaviour](server));
    this.made.set(name, dir);
    return dir;
  }

  remove(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------------
// Deployments, their events and rollout state

const TERMINAL = new Set(['succeeded', 'failed', 'rolled_back', 'cancelled']);

interface DeploymentEvent {
  id: number;
  type: string;
  data: Record<string, unknown>;
  at: string;
}

class Bench {
  constructor(
    readonly running: BenchMaestro,
    readonly versions: Versions,
  ) {}

  get api() {
    return this.running.api;
  }

  async deploy(dir: string): Promise<DeploymentView> {
    const [deployment] = await this.api.deploy(PROJECT, dir, ENVIRONMENT);
    if (!deployment) throw new Error('the deploy created no deployment');
    return deployment;
  }

  async until(id: string, test: (deployment: DeploymentView) => boolean, timeoutMs = DEPLOY_TIMEOUT_MS): Promise<DeploymentView> {
    const deadline = now() + timeoutMs;
    while (now() < deadline) {
      const { body } = await this.api.call<DeploymentView>('GET', `/v1/deployments/${id}`);
      if (test(body)) return body;
      await sleep(50);
    }
    throw new Error(`deployment ${id} did not get there within ${timeoutMs} ms`);
  }

  /** Wait until the deployment ends, whatever the end. */
  finished(id: string, timeoutMs = DEPLOY_TIMEOUT_MS): Promise<DeploymentView> {
    return this.until(id, (deployment) => TERMINAL.has(deployment.status), timeoutMs);
  }

  /** Deploy and require success (making a stable revision live). */
  async deployLive(dir: string): Promise<DeploymentView> {
    const done = await this.finished((await this.deploy(dir)).id);
    if (done.status !== 'succeeded') throw new Error(`deploying ${dir} ended ${done.status}: ${done.error}`);
    return done;
  }

  /** Everything the deployment recorded (GET .../events?follow=false: SSE text). */
  async events(id: string): Promise<DeploymentEvent[]> {
    const response = await request(`${this.api.url}/v1/deployments/${id}/events?follow=false`, {
      headers: { authorization: `Bearer ${this.running.maestro.createdAdminToken}` },
    });
    const text = await response.body.text();
    if (response.statusCode !== 200) throw new Error(`events of ${id} answered ${response.statusCode}: ${text.slice(0, 300)}`);
    const events: DeploymentEvent[] = [];
    for (const block of text.split('\n\n')) {
      const data = block
        .split('\n')
        .filter((line) => line.startsWith('data: '))
        .map((line) => line.slice('data: '.length))
        .join('\n');
      if (data) events.push(JSON.parse(data) as DeploymentEvent);
    }
    return events;
  }

  /** The rollout state the controller saved (in this process: Maestro runs here). */
  async rolloutState(id: string): Promise<RolloutState | undefined> {
    return (await this.running.maestro.store.deployments.get(id))?.rolloutState as RolloutState | undefined;
  }

  /** The moment the new revision first got a share of the traffic (the store's traffic shift). */
  async untilCanaryServes(id: string, timeoutMs = DEPLOY_TIMEOUT_MS): Promise<number> {
    const deadline = now() + timeoutMs;
    while (now() < deadline) {
      const shift = (await this.running.maestro.store.traffic.list()).find((candidate) => candidate.deploymentId === id);
      if (shift && shift.weight > 0) return now();
      const { body } = await this.api.call<DeploymentView>('GET', `/v1/deployments/${id}`);
      if (TERMINAL.has(body.status)) throw new Error(`deployment ${id} ended ${body.status} before its canary took traffic: ${body.error}`);
      await sleep(50);
    }
    throw new Error(`the canary of ${id} took no traffic within ${timeoutMs} ms`);
  }

  rolloutPath(action: 'promote' | 'abort'): string {
    return `/v1/projects/${PROJECT}/services/${SERVICE}/environments/${ENVIRONMENT}/${action}`;
  }
}

/** The first progress event of a rollback: "traffic: 0% to <new>, 100% to <stable> (rollback: ...)". */
function rollbackEvent(events: DeploymentEvent[]): DeploymentEvent | undefined {
  return events.find((event) => event.type === 'progress' && /\(rollback: /.test(String(event.data.message)));
}

const eventAt = (event: DeploymentEvent | undefined): number => (event ? Date.parse(event.at) : Number.NaN);

// ---------------------------------------------------------------------------------------------------------
// The load timeline

interface Answer {
  startedAt: number;
  endedAt: number;
  status: number;
  version: string | undefined;
  outcome: string;
  ok: boolean;
}

function answers(report: LoadReport): Answer[] {
  const list = report.endedAt.map((endedAt, i) => {
    const outcome = report.outcomes[report.outcome[i]!]!;
    return {
      startedAt: report.startedAt[i]!,
      endedAt,
      status: report.status[i]!,
      version: report.version[i]! >= 0 ? report.versions[report.version[i]!] : undefined,
      outcome,
      ok: outcome === 'ok',
    };
  });
  return list.sort((a, b) => a.endedAt - b.endedAt);
}

function loadSummary(report: LoadReport, timeline: Answer[]): { rate: number; failed: number; text: string } {
  const spanS = timeline.length > 1 ? (timeline.at(-1)!.endedAt - Math.min(...report.startedAt)) / 1000 : Number.NaN;
  const failed = timeline.filter((answer) => !answer.ok).length + report.abandoned;
  const rate = timeline.length / spanS;
  return {
    rate,
    failed,
    text:
      `load: ${report.sent} sent, ${timeline.length} answered in ${spanS.toFixed(1)} s (${rate.toFixed(0)}/s), ` +
      `${failed} failed, ${report.abandoned} unanswered, ${report.skipped} timer slots skipped, ${report.mismatched} from the wrong revision`,
  };
}

function failuresByCause(list: Answer[], abandoned = 0): string {
  const counts = new Map<string, number>();
  for (const answer of list) if (!answer.ok) counts.set(answer.outcome, (counts.get(answer.outcome) ?? 0) + 1);
  if (abandoned > 0) counts.set('unanswered', abandoned);
  return counts.size === 0 ? 'none' : [...counts].map(([cause, count]) => `${count} ${cause}`).join(', ');
}

// ---------------------------------------------------------------------------------------------------------
// Figures

interface Figure {
  scenario: Scenario;
  figure: string;
  value: string;
  target: string;
  /** undefined: reported, no target. */
  pass?: boolean;
}

const figures: Figure[] = [];

function report(figure: Figure): void {
  figures.push(figure);
  const verdict = figure.pass === undefined ? '' : figure.pass ? '  PASS' : '  FAIL';
  console.log(`  ${figure.figure}: ${figure.value}${figure.target ? ` (target ${figure.target})` : ''}${verdict}`);
}

const fmtMs = (value: number): string => (Number.isFinite(value) ? `${Math.round(value)} ms` : 'n/a');

// ---------------------------------------------------------------------------------------------------------
// Scenarios

async function withLoad<T>(bench: Bench, rate: number, connections: number, body: () => Promise<T>): Promise<{ result: T; report: LoadReport }> {
  const load: LoadProcess = await startLoad({ port: bench.running.maestro.routerPort, host: HOST, rate, connections });
  try {
    await sleep(1_000);
    const result = await body();
    await sleep(1_000);
    return { result, report: await load.stop() };
  } finally {
    load.kill();
  }
}

/** A canary that fails every request, or every request slowly: caught, and undone, how fast. */
async function badCanary(bench: Bench, scenario: 'broken' | 'slow', round: number): Promise<void> {
  const stableVersion = `${scenario}-stable-${round}`;
  const badVersion = `${scenario}-canary-${round}`;
  await bench.deployLive(bench.versions.make(stableVersion, 'ok', STRATEGIES.immediate));
  const dir = bench.versions.make(badVersion, scenario, STRATEGIES[scenario]);
  const { result: deployment, report: load } = await withLoad(bench, RATE, CONNECTIONS, async () => bench.finished((await bench.deploy(dir)).id));
  const timeline = answers(load);
  const summary = loadSummary(load, timeline);
  console.log(`  ${summary.text}`);
  const events = await bench.events(deployment.id);
  const state = await bench.rolloutState(deployment.id);
  const fromCanary = timeline.filter((answer) => answer.version === badVersion);
  const firstBad = fromCanary[0];
  const detectedAt = eventAt(rollbackEvent(events));
  const verdictAt = state?.lastVerdict?.outcome === 'fail' ? state.lastVerdict.at : Number.NaN;
  const lastNotStable = timeline.filter((answer) => answer.version !== stableVersion).at(-1);
  const from = firstBad?.endedAt ?? Number.NaN;
  console.log(`  ended ${deployment.status}: ${deployment.error ?? ''}`);
  console.log(`  the canary answered ${fromCanary.length} requests; the first at +${fmtMs((firstBad?.startedAt ?? NaN) - timeline[0]!.startedAt)} into the load`);

  const rolledBack = deployment.status === 'rolled_back';
  const rightReason = scenario === 'broken' ? /error rate/.test(deployment.error ?? '') : /p95 latency/.test(deployment.error ?? '');
  report({ scenario, figure: 'rolled back by the analysis', value: `${deployment.status}${rightReason ? '' : ' (reason does not name the check)'}`, target: 'rolled_back', pass: rolledBack && rightReason });
  const detection = detectedAt - from;
  report({ scenario, figure: 'first bad answer -> failing verdict', value: fmtMs(verdictAt - from), target: '' });
  if (scenario === 'broken') {
    report({ scenario, figure: 'first bad answer -> rollback began (router told)', value: fmtMs(detection), target: `<= ${TARGET_DETECTION_MS} ms`, pass: detection <= TARGET_DETECTION_MS });
    const toStable = (lastNotStable?.endedAt ?? Number.NaN) - from;
    report({ scenario, figure: 'first bad answer -> last answer not from stable', value: fmtMs(toStable), target: `<= ${TARGET_STABLE_MS} ms`, pass: toStable <= TARGET_STABLE_MS });
    report({ scenario, figure: 'failed requests users saw', value: `${summary.failed} of ${timeline.length} (${failuresByCause(timeline, load.abandoned)})`, target: '' });
  } else {
    report({ scenario, figure: 'first slow answer -> rollback began (router told)', value: fmtMs(detection), target: '' });
    report({ scenario, figure: 'first slow request sent -> rollback began', value: fmtMs(detectedAt - (firstBad?.startedAt ?? NaN)), target: '' });
    const toStable = (lastNotStable?.endedAt ?? Number.NaN) - from;
    report({ scenario, figure: 'first slow answer -> last answer not from stable', value: fmtMs(toStable), target: '' });
    report({ scenario, figure: 'slow answers users saw (>= 400 ms)', value: String(fromCanary.length), target: '' });
    report({ scenario, figure: 'failed requests', value: `${summary.failed} (${failuresByCause(timeline, load.abandoned)})`, target: '0', pass: summary.failed === 0 });
  }
  report({ scenario, figure: 'answers from the wrong revision', value: String(load.mismatched), target: '0', pass: load.mismatched === 0 });
  const others = load.failures.filter((failure) => failure.status !== 500 || !failure.body.includes(badVersion));
  if (others.length > 0) {
    console.log(`  failures other than the canary's own answers (rollback began at ${new Date(detectedAt).toISOString()}):`);
    printFailures({ ...load, failures: others });
  }
}

/** Healthy canaries with the same background noise as stable: how often is one blamed anyway? */
async function noisy(bench: Bench): Promise<void> {
  await bench.deployLive(bench.versions.make('noisy-stable', 'noisy', STRATEGIES.immediate));
  const outcomes: Array<{ run: number; status: string; error: string | null; ms: number }> = [];
  const { report: load } = await withLoad(bench, RATE, CONNECTIONS, async () => {
    for (let run = 1; run <= RUNS; run += 1) {
      // Two sources taking turns: built once each, and never the same as the revision it replaces.
      const dir = bench.versions.make(run % 2 === 1 ? 'noisy-a' : 'noisy-b', 'noisy', STRATEGIES.noisy);
      const started = now();
      const done = await bench.finished((await bench.deploy(dir)).id);
      outcomes.push({ run, status: done.status, error: done.error, ms: now() - started });
      console.log(`  run ${String(run).padStart(2)}: ${done.status} in ${seconds(now() - started)}${done.status === 'succeeded' ? '' : `: ${done.error}`}`);
      // A rollback leaves the other source live, and the next run would deploy what serves already.
      if (done.status !== 'succeeded') await bench.deployLive(bench.versions.make(`noisy-reset-${run}`, 'noisy', STRATEGIES.immediate));
    }
  });
  const timeline = answers(load);
  const summary = loadSummary(load, timeline);
  console.log(`  ${summary.text}`);
  const rollbacks = outcomes.filter((outcome) => outcome.status === 'rolled_back').length;
  const other = outcomes.filter((outcome) => outcome.status !== 'rolled_back' && outcome.status !== 'succeeded').length;
  const errorRate = timeline.filter((answer) => answer.status === 500).length / timeline.length;
  report({ scenario: 'noisy', figure: `false rollbacks over ${RUNS} healthy canaries`, value: String(rollbacks), target: '0', pass: rollbacks === 0 });
  report({ scenario: 'noisy', figure: 'rollouts that failed otherwise', value: String(other), target: '0', pass: other === 0 });
  report({ scenario: 'noisy', figure: 'rollout duration p50 / max', value: `${seconds(percentile(outcomes.map((o) => o.ms), 0.5))} / ${seconds(Math.max(...outcomes.map((o) => o.ms)))}`, target: '' });
  report({ scenario: 'noisy', figure: 'background 500s seen by the load (expected ~0.5%)', value: `${(errorRate * 100).toFixed(2)}%`, target: '' });
  const other5xxOrErrors = timeline.filter((answer) => !answer.ok && answer.status !== 500).length + load.abandoned;
  report({ scenario: 'noisy', figure: 'failures other than the app\'s own 500s', value: `${other5xxOrErrors} (${failuresByCause(timeline.filter((a) => a.status !== 500), load.abandoned)})`, target: '0', pass: other5xxOrErrors === 0 });
}

/** The analysis cannot read its source: the canary must hold and pause, never roll back as failed. */
async function prometheusDown(bench: Bench, closedUrl: string): Promise<void> {
  await bench.deployLive(bench.versions.make('prom-stable', 'ok', STRATEGIES.immediate));
  const dir = bench.versions.make('prom-canary', 'ok', STRATEGIES.prometheus);
  let id = '';
  const seen: string[] = [];
  const { result, report: load } = await withLoad(bench, RATE, CONNECTIONS, async () => {
    id = (await bench.deploy(dir)).id;
    const servingAt = await bench.untilCanaryServes(id);
    const deadline = servingAt + HOLD_MS;
    let pausedAt: number | undefined;
    let status = 'deploying';
    let state: RolloutState | undefined;
    while (now() < deadline) {
      status = (await bench.api.call<DeploymentView>('GET', `/v1/deployments/${id}`)).body.status;
      if (TERMINAL.has(status)) break;
      state = await bench.rolloutState(id);
      const line = `${state?.phase} at ${state?.targetWeight}%: ${state?.lastVerdict?.outcome ?? 'no verdict'}`;
      if (seen.at(-1) !== line) {
        seen.push(line);
        console.log(`  +${seconds(now() - servingAt)} ${line}`);
      }
      if (state?.phase === 'paused' && state.pause?.kind === 'alert') {
        pausedAt = now();
        break;
      }
      await sleep(250);
    }
    const held = now() - servingAt;
    let aborted: DeploymentView | undefined;
    if (!TERMINAL.has(status)) aborted = (await bench.api.call<DeploymentView>('POST', bench.rolloutPath('abort'), { reason: 'bench: the source stayed down' })).body;
    return { servingAt, pausedAt, held, status, state, aborted };
  });
  const timeline = answers(load);
  const summary = loadSummary(load, timeline);
  console.log(`  ${summary.text}`);
  const reason = result.state?.lastVerdict?.reason ?? '';
  // Make sure the check really met a closed port (not, say, a Prometheus that nobody configured).
  const source = /not reachable|did not answer/.test(reason) ? `a closed port (${closedUrl})` : `not as intended: ${reason}`;
  console.log(`  source down as: ${source}`);
  console.log(`  last verdict: ${result.state?.lastVerdict?.outcome}: ${reason}`);
  if (result.state?.pause) console.log(`  pause: ${result.state.pause.reason}`);
  const events = await bench.events(id);
  const failedAsBad = events.some((event) => event.type === 'progress' && /\(rollback: analysis failed/.test(String(event.data.message)));
  const neverFailed = result.status === 'deploying' && !failedAsBad;
  const closed = source.startsWith('a closed port');
  report({ scenario: 'prometheus', figure: 'the check met a closed port', value: closed ? 'yes' : source, target: 'yes', pass: closed });
  report({ scenario: 'prometheus', figure: 'rolled back as failed while the source was down', value: neverFailed ? 'no' : `yes (${result.status})`, target: 'no', pass: neverFailed });
  report({
    scenario: 'prometheus',
    figure: 'held (inconclusive), then paused with an alert',
    value: result.pausedAt ? `held ${seconds(result.pausedAt - result.servingAt)}, then paused` : `held ${seconds(result.held)}, no alert pause yet`,
    target: '',
  });
  report({ scenario: 'prometheus', figure: 'abort afterwards', value: result.aborted?.status ?? 'not needed', target: 'rolled_back', pass: result.aborted?.status === 'rolled_back' });
  report({ scenario: 'prometheus', figure: 'failed requests', value: `${summary.failed} (${failuresByCause(timeline, load.abandoned)})`, target: '0', pass: summary.failed === 0 });
}

/** Traffic switches at a high rate: blue/green, a promoted canary, an aborted canary. */
async function highRate(bench: Bench): Promise<void> {
  await bench.deployLive(bench.versions.make('fast-stable', 'ok', STRATEGIES.immediate));
  const windows: Array<{ name: string; from: number; outcome: string }> = [];
  const { report: load } = await withLoad(bench, HIGH_RATE, HIGH_RATE_CONNECTIONS, async () => {
    let from = now();
    const blueGreen = await bench.finished((await bench.deploy(bench.versions.make('fast-blue-green', 'ok', STRATEGIES.blueGreen))).id);
    windows.push({ name: 'blue/green switch', from, outcome: blueGreen.status });
    console.log(`  blue/green: ${blueGreen.status} in ${seconds(now() - from)}`);
    await sleep(500);

    from = now();
    const promoted = await bench.deploy(bench.versions.make('fast-promoted', 'ok', STRATEGIES.manual));
    await bench.untilCanaryServes(promoted.id);
    await sleep(1_500);
    // A promote is taken once the analysis passes; it stays requested until then.
    await bench.api.call('POST', bench.rolloutPath('promote'), {});
    const promotedEnd = await bench.finished(promoted.id);
    windows.push({ name: 'canary promotion', from, outcome: promotedEnd.status });
    console.log(`  canary promotion: ${promotedEnd.status} in ${seconds(now() - from)}${promotedEnd.error ? `: ${promotedEnd.error}` : ''}`);
    await sleep(500);

    from = now();
    const aborted = await bench.deploy(bench.versions.make('fast-aborted', 'ok', STRATEGIES.manual));
    await bench.untilCanaryServes(aborted.id);
    await sleep(1_500);
    const abortCall = (await bench.api.call<DeploymentView>('POST', bench.rolloutPath('abort'), { reason: 'bench: abort under load' })).body;
    const abortedEnd = await bench.finished(aborted.id);
    windows.push({ name: 'canary abort', from, outcome: abortedEnd.status });
    console.log(`  canary abort: ${abortedEnd.status} in ${seconds(now() - from)} (the abort call answered ${abortCall.status})`);
  });
  const timeline = answers(load);
  const summary = loadSummary(load, timeline);
  console.log(`  ${summary.text}`);
  report({ scenario: 'high-rate', figure: 'rate achieved', value: `${summary.rate.toFixed(0)} requests/s (asked ${HIGH_RATE}; ${load.skipped} slots skipped)`, target: '' });
  const p99 = percentile(timeline.map((answer) => answer.endedAt - answer.startedAt), 0.99);
  report({ scenario: 'high-rate', figure: 'answer time p99', value: fmtMs(p99), target: '' });
  const expected: Record<string, string> = { 'blue/green switch': 'succeeded', 'canary promotion': 'succeeded', 'canary abort': 'rolled_back' };
  windows.forEach((window, index) => {
    // Each switch owns the answers from its start to the next one's (the last one: to the end of the load).
    const until = windows[index + 1]?.from ?? Number.POSITIVE_INFINITY;
    const inWindow = timeline.filter((answer) => answer.endedAt >= window.from && answer.endedAt < until);
    const fivexx = inWindow.filter((answer) => answer.status >= 500).length;
    const errors = inWindow.filter((answer) => answer.status === 0).length;
    report({
      scenario: 'high-rate',
      figure: `${window.name}: 5xx / connection errors`,
      value: `${fivexx} / ${errors} of ${inWindow.length}, ${window.outcome}`,
      target: `0 / 0, ${expected[window.name]}`,
      pass: fivexx === 0 && errors === 0 && window.outcome === expected[window.name],
    });
  });
  report({ scenario: 'high-rate', figure: 'all failed requests', value: `${summary.failed} (${failuresByCause(timeline, load.abandoned)})`, target: '0', pass: summary.failed === 0 });
  report({ scenario: 'high-rate', figure: 'answers from the wrong revision', value: String(load.mismatched), target: '0', pass: load.mismatched === 0 });
  printFailures(load);
}

/** The whole walk: three weight steps with 5 s pauses, then all traffic. */
async function fullCanary(bench: Bench): Promise<void> {
  await bench.deployLive(bench.versions.make('full-stable', 'ok', STRATEGIES.immediate));
  let tookMs = Number.NaN;
  const { result: deployment, report: load } = await withLoad(bench, RATE, CONNECTIONS, async () => {
    const started = now();
    const done = await bench.finished((await bench.deploy(bench.versions.make('full-canary', 'ok', STRATEGIES.full))).id);
    tookMs = now() - started;
    return done;
  });
  const timeline = answers(load);
  const summary = loadSummary(load, timeline);
  console.log(`  ${summary.text}`);
  const events = await bench.events(deployment.id);
  for (const event of events) if (event.type === 'progress' && /^traffic/.test(String(event.data.message))) console.log(`  ${event.at.slice(11, 23)} ${String(event.data.message)}`);
  const share = timeline.filter((answer) => answer.version === 'full-canary').length / timeline.length;
  report({ scenario: 'full-canary', figure: 'promotion', value: `${deployment.status} in ${seconds(tookMs)}${deployment.error ? `: ${deployment.error}` : ''}`, target: 'succeeded', pass: deployment.status === 'succeeded' });
  report({ scenario: 'full-canary', figure: 'failed requests', value: `${summary.failed} of ${timeline.length} (${failuresByCause(timeline, load.abandoned)})`, target: '0', pass: summary.failed === 0 });
  report({ scenario: 'full-canary', figure: 'answers from the new version over the run', value: `${(share * 100).toFixed(1)}%`, target: '' });
  report({ scenario: 'full-canary', figure: 'answers from the wrong revision', value: String(load.mismatched), target: '0', pass: load.mismatched === 0 });
  printFailures(load);
}

function printFailures(load: LoadReport): void {
  for (const failure of load.failures.slice(0, 5)) {
    console.log(`    ${new Date(failure.at).toISOString()} ${failure.error}: ${failure.body.slice(0, 160)}`);
  }
}

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== 'object' || !address) throw new Error('no port');
  return address.port;
}

runBench('bench:canary', WATCHDOG_MS, async (onCleanup) => {
  const started = now();
  const versions = new Versions();
  onCleanup(() => versions.remove());
  const closedUrl = `http://127.0.0.1:${await closedPort()}`;
  // The Prometheus source is down for the whole run: only the prometheus scenario has a check that asks it.
  const running = await startBenchMaestro('canary', { prometheusUrl: closedUrl });
  onCleanup(() => running.stop());
  const bench = new Bench(running, versions);
  const chosen = SCENARIOS.filter((name) => !ONLY || ONLY.includes(name));
  console.log(`Maestro canary benchmark: ${chosen.join(', ')}; ${RATE} requests/s (${HIGH_RATE}/s for high-rate) through the router`);
  console.log(`(Maestro started in ${fmtMs(now() - started)}; router port ${running.maestro.routerPort})`);

  const scenarios: Record<Scenario, () => Promise<void>> = {
    broken: () => badCanary(bench, 'broken', 1),
    slow: () => badCanary(bench, 'slow', 1),
    noisy: () => noisy(bench),
    prometheus: () => prometheusDown(bench, closedUrl),
    'high-rate': () => highRate(bench),
    'full-canary': () => fullCanary(bench),
  };
  for (const name of chosen) {
    const scenarioStarted = now();
    console.log(`\n== ${name}`);
    try {
      await scenarios[name]();
    } catch (error) {
      console.error(`  ${name} could not finish: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      report({ scenario: name, figure: 'scenario ran to the end', value: 'no', target: 'yes', pass: false });
    }
    console.log(`  (${name} took ${seconds(now() - scenarioStarted)})`);
  }

  console.log('');
  console.log(
    table([
      ['scenario', 'figure', 'value', 'target', 'result'],
      ...figures.map((figure) => [figure.scenario, figure.figure, figure.value.length > 70 ? `${figure.value.slice(0, 67)}...` : figure.value, figure.target, figure.pass === undefined ? '' : figure.pass ? 'PASS' : 'FAIL']),
    ]),
  );
  const failed = figures.filter((figure) => figure.pass === false);
  console.log(`\n${failed.length === 0 ? 'PASS' : `FAIL (${failed.length} target${failed.length === 1 ? '' : 's'} missed)`}: whole run ${seconds(now() - started)}`);
  return failed.length === 0 ? 0 : 1;
});
