// `npm run bench:canary`: progressive delivery under steady traffic — how fast a bad canary is caught and
// undone, how rarely a good one is blamed (also while its metric source is down), and whether traffic
// switches cost users a single request.
//
// Maestro runs in this process (API, control plane, embedded database; the router and the apps are its own
// child processes); bench/load-worker.ts sends open-loop traffic through the router from another process and
// records every answer (times, status, version named in the body). Every canary below is a copy of
// examples/node-hello whose server.js is changed a little: `broken` answers 500 to everything but /healthz,
// `slow` adds 400 ms to every answer, `noisy` answers 500 to 0.5% of requests at random. Every answer, good
// or bad, names its version in the body, so the timeline tells which revision served it.
//
// Scenarios (each one first makes its own stable revisions live with strategy immediate):
// - broken:      canary at 10% answering 500. From its first bad answer (load timeline) to detection — the
//                rollback's "traffic: 0% to ..." progress event, recorded once the router took the stable-only
//                table (the failing verdict's own time is shown too) — target <= 2 s; to the last answer not
//                from the stable revision, target <= 3 s; the failed requests users saw (reported).
// - slow:        canary adding 400 ms, with {metric: latency_p95, max: 300ms}: time to detection (reported);
//                no failed request (its answers are slow, not wrong: a rollback must let them finish).
// - noisy:       stable and canary both fail 0.5% at random; --runs canary rollouts one after the other
//                (default 20; 20% then 50% with 3 s pauses), all of the load on the one service: false
//                rollbacks, target 0; no failure besides the apps' own 500s.
// - prometheus:  the same noise while the metric source is down. --runs services (default 20), each in a
//                project of its own with a noisy stable revision, roll out noisy canaries at the same time,
//                the load spread over them (~10 requests/s each at 200/s). Each canary (20%, a 30 s pause,
//                50%, 10 s, then 100%) is judged by the router's error rate (limit 5%: see outageStrategy
//                for why not 1% at this rate) and by a PromQL check of its own service's 5xx per second,
//                asked of a real Prometheus (Debian's /usr/bin/prometheus scraping the router every second).
//                Once every canary takes traffic and has passed its analysis, Prometheus is killed (SIGKILL)
//                for --outage seconds (default 60) and started again on the same port with the same data.
//                Targets: every canary mid-rollout at the kill and its analysis meeting Prometheus as
//                unreachable; 0 false rollbacks; no weight raised during the outage; no canary paused, for
//                the outage (60 s is inside the default 2 m provider-error budget) or for too little
//                evidence; every canary promoted in the end; no failure besides the apps' own 500s.
//                Reported: how long they held at their weight from the kill, how soon each took its next
//                step once Prometheus was back, and the machine's load and memory.
//                Why at once and not one after another: 20 rollouts each through its own 60 s outage would
//                take over 20 minutes. Run at once they are still 20 runs — each has its own analysis,
//                verdicts, rollout state, traffic and query — sharing one outage (about 2 minutes in all),
//                and 40 apps beside Prometheus on 2 cores are a harder test of the hold than one at a time.
//                Each canary sees ~2 requests/s at 20%, not 40: the noisy scenario keeps the full-rate case.
//                To see the alert pause instead: --outage 150 (past the 2 m budget), or --budget 30 (writes
//                analysis.provider_error_budget: 30s); every canary must then pause with an alert, and the
//                bench promotes each once Prometheus is back (a person's `maestro promote`) so they still end.
// - high-rate:   at ~1,000 requests/s: a blue/green switch (auto_promote_after 2s), a canary promoted by
//                `maestro promote` and a canary aborted by `maestro abort`: 5xx answers and connection
//                errors, target 0. The rate actually achieved is printed.
// - full-canary: three weight steps with 5 s pauses to 100%: completes with 0 failed requests.
// Every scenario but noisy also counts answers from the wrong revision (the revision in the body is not the
// router's x-maestro-revision), target 0.
//
// Exit status 1 if a target is missed. Options: --only <scenario>[,<scenario>...], --runs 20 (noisy:
// rollouts in a row; prometheus: services at once), --rate 200, --high-rate 1000, --outage 60 (seconds
// Prometheus is down), --budget <seconds> (provider_error_budget of the prometheus canaries; default: the
// product's 2 m).
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, freemem, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { request } from 'undici';
import { DEFAULT_ROLLOUT_LIMITS, queryPrometheus, type RolloutState } from '../src/rollout/index.js';
// The tests' Prometheus process (start, SIGKILL, restart on the same port and data): the same real binary here.
import { freePort, hasPrometheus, startPrometheus, waitFor } from '../test/rollout/prometheus-process.js';
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
    outage: { type: 'string', default: '60' },
    budget: { type: 'string' },
  },
});
const ONLY = values.only?.split(',').map((name) => name.trim());
for (const name of ONLY ?? []) {
  if (!(SCENARIOS as readonly string[]).includes(name)) throw new Error(`--only takes one of ${SCENARIOS.join(', ')} (or several, comma-separated), got "${name}"`);
}
const RUNS = positive('runs', values.runs);
const RATE = positive('rate', values.rate);
const HIGH_RATE = positive('high-rate', values['high-rate']);
const OUTAGE_S = positive('outage', values.outage);
/** The analysis' provider_error_budget in seconds; undefined: the manifest leaves it out (the product's default). */
const BUDGET_S = values.budget === undefined ? undefined : positive('budget', values.budget);

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
  make(name: string, behaviour: Behaviour, strategy: string, project = PROJECT): string {
    const known = this.made.get(name);
    if (known) return known;
    const dir = join(this.root, name);
    cpSync(EXAMPLE, dir, { recursive: true });
    const manifest = readFileSync(join(dir, 'maestro.yml'), 'utf8');
    const server = readFileSync(join(dir, 'server.js'), 'utf8');
    for (const [text, where] of [
      [`project: ${PROJECT}`, 'maestro.yml'],
      ['APP_VERSION: v1', 'maestro.yml'],
      ['    strategy: immediate', 'maestro.yml'],
      [OK_LINE, 'server.js'],
      [HANDLER_LINE, 'server.js'],
    ] as const) {
      if (!(where === 'maestro.yml' ? manifest : server).includes(text)) throw new Error(`${EXAMPLE}/${where} no longer contains "${text.trim()}"; update bench/canary.ts`);
    }
    // A short drain keeps retired revisions from piling up over many rollouts on a 2-core machine.
    writeFileSync(
      join(dir, 'maestro.yml'),
      manifest
        .replace(`project: ${PROJECT}`, `project: ${project}`)
        .replace('APP_VERSION: v1', `APP_VERSION: ${name}`)
        .replace('    strategy: immediate', `    drain: 1s\n${strategy}`),
    );
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

  async deploy(dir: string, project = PROJECT): Promise<DeploymentView> {
    const [deployment] = await this.api.deploy(project, dir, ENVIRONMENT);
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
  async deployLive(dir: string, project = PROJECT): Promise<DeploymentView> {
    const done = await this.finished((await this.deploy(dir, project)).id);
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

  rolloutPath(action: 'promote' | 'abort', project = PROJECT): string {
    return `/v1/projects/${project}/services/${SERVICE}/environments/${ENVIRONMENT}/${action}`;
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

async function withLoad<T>(bench: Bench, rate: number, connections: number, body: () => Promise<T>, hosts = [HOST]): Promise<{ result: T; report: LoadReport }> {
  const load: LoadProcess = await startLoad({ port: bench.running.maestro.routerPort, host: hosts[0]!, hosts, rate, connections });
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

/** One project per service, so that each canary's PromQL check names its own service as its team would write it. */
const outageProject = (index: number): string => `outage-${String(index + 1).padStart(2, '0')}`;
const outageHost = (project: string): string => `${SERVICE}.${ENVIRONMENT}.${project}.localhost`;
/** Once every canary takes traffic, how long Prometheus waits for the last first pass before it goes down anyway. */
const OUTAGE_START_WAIT_MS = 45_000;
/** How often the outage scenario reads every rollout's state: the resolution of its times. */
const OUTAGE_POLL_MS = 500;

/**
 * A canary judged by the router's figures and by PromQL: its own service's 5xx per second, which 0.5% noise
 * at ~10 requests/s keeps near 0.05. The error-rate limit is 5%, not the noisy scenario's 1%: a canary at 20%
 * of 10 requests/s gets 2 a second, so a single random 500 among its first 40 would keep a 1% limit "above,
 * not yet beyond noise" for over 30 s, and that budget (too little evidence) would pause a healthy canary
 * with an alert before the outage begins. The 30 s first pause keeps every canary at 20% when Prometheus
 * goes down; warm_for 1s stops the replaced revisions soon after.
 */
function outageStrategy(project: string): string {
  const query = `sum(rate(http_requests_total{project="${project}",code=~"5.."}[1m])) or vector(0)`;
  return `    warm_for: 1s
    strategy:
      type: canary
      steps: [{weight: 20}, {pause: 30s}, {weight: 50}, {pause: 10s}]
      analysis:
        interval: 1s
        min_requests: 20
        checks:
          - {metric: error_rate, max: 5%}
          - {prometheus: '${query}', max: 1}${BUDGET_S === undefined ? '' : `\n        provider_error_budget: ${BUDGET_S}s`}
      watch: 5s`;
}

/** An alert pause: for provider errors (the source down) or for too little evidence. */
interface AlertPause {
  at: number;
  cause: 'provider' | 'evidence';
  reason: string;
}

/** What the outage scenario saw of one rollout. */
interface OutageRollout {
  project: string;
  id: string;
  servingAt?: number;
  /** Its analysis' first pass: it had enough requests and the router's figures and PromQL were fine. */
  passedAt?: number;
  /** Its weight and status when Prometheus was killed. */
  atKill?: { weight: number; status: string };
  /** The first time its weight changed (or it ended) after the kill. */
  movedAfterKill?: number;
  /** Its weight rose after its first provider-error verdict and before Prometheus was back. */
  advancedInOutage: boolean;
  providerErrors: number;
  providerReason?: string;
  pauses: AlertPause[];
  pausedNow: boolean;
  promotes: number;
  endedAt?: number;
  status: string;
  weight: number;
}

/**
 * Healthy noisy canaries of RUNS services rolling out at the same time while a real Prometheus, one of their
 * checks' sources, is killed for OUTAGE_S seconds and restarted on the same port: they must hold at their
 * weight (inconclusive), never roll back, and go on once it is back.
 */
async function prometheusOutage(bench: Bench, prometheusPort: number): Promise<void> {
  if (!hasPrometheus) throw new Error("this scenario runs the real Prometheus: apt-get install prometheus (Debian's /usr/bin/prometheus)");
  const running = bench.running.maestro;
  const token = readFileSync(running.paths.routerToken, 'utf8').trim();
  const prometheus = await startPrometheus({ target: `127.0.0.1:${running.routerAdminPort}`, token, port: prometheusPort });
  try {
    await waitFor('the first scrape of the router', 20_000, async () => {
      const up = await queryPrometheus(prometheus.url, 'up{job="maestro-router"}');
      return up.ok && up.value === 1 ? true : undefined;
    });
    const projects = Array.from({ length: RUNS }, (_, index) => outageProject(index));
    const stableStarted = now();
    await Promise.all(projects.map((project) => bench.deployLive(bench.versions.make(`${project}-stable`, 'noisy', STRATEGIES.immediate, project), project)));
    console.log(`  ${RUNS} stable revisions live in ${seconds(now() - stableStarted)}; ${RATE} requests/s spread over their ${RUNS} hosts`);

    const budgetMs = BUDGET_S === undefined ? DEFAULT_ROLLOUT_LIMITS.providerErrorSpanMs : BUDGET_S * 1000;
    const { result, report: load } = await withLoad(
      bench,
      RATE,
      CONNECTIONS,
      async () => {
        const started = now();
        const rollouts: OutageRollout[] = await Promise.all(
          projects.map(async (project) => ({
            project,
            id: (await bench.deploy(bench.versions.make(`${project}-canary`, 'noisy', outageStrategy(project), project), project)).id,
            advancedInOutage: false,
            providerErrors: 0,
            pauses: [],
            pausedNow: false,
            promotes: 0,
            status: 'deploying',
            weight: 0,
          })),
        );
        /** When Prometheus was killed and when it was back; observe() reads them as they are set. */
        const outage: { killedAt?: number; restartedAt?: number } = {};
        const machine = { load: 0, memory: 0 };

        const observe = async (): Promise<void> => {
          const at = now();
          const shifts = await running.store.traffic.list();
          machine.load = Math.max(machine.load, loadavg()[0]!);
          machine.memory = Math.max(machine.memory, totalmem() - freemem());
          for (const rollout of rollouts) {
            if (rollout.endedAt !== undefined) continue;
            const deployment = await running.store.deployments.get(rollout.id);
            const state = deployment?.rolloutState as RolloutState | undefined;
            const weight = state?.targetWeight ?? 0;
            const status = deployment?.status ?? 'missing';
            const shift = shifts.find((candidate) => candidate.deploymentId === rollout.id);
            if (rollout.servingAt === undefined && shift && shift.weight > 0) rollout.servingAt = at;
            if (rollout.passedAt === undefined && rollout.servingAt !== undefined && state?.lastVerdict?.outcome === 'pass') rollout.passedAt = at;
            if (outage.killedAt !== undefined && state && state.providerErrors.count > 0) {
              rollout.providerErrors = Math.max(rollout.providerErrors, state.providerErrors.count);
              rollout.providerReason ??= state.providerErrors.reason;
            }
            if (outage.killedAt !== undefined && rollout.movedAfterKill === undefined && (weight !== rollout.atKill?.weight || TERMINAL.has(status))) {
              rollout.movedAfterKill = at;
              if (outage.restartedAt === undefined && rollout.providerErrors > 0 && weight > (rollout.atKill?.weight ?? 0)) rollout.advancedInOutage = true;
            }
            const paused = state?.phase === 'paused' && state.pause?.kind === 'alert';
            if (paused && !rollout.pausedNow) {
              const reason = state.pause?.reason ?? '';
              rollout.pauses.push({ at, reason, cause: /^a metric source has been failing/.test(reason) ? 'provider' : 'evidence' });
              const when = outage.killedAt === undefined ? `${seconds(at - started)} after the deploy` : `${seconds(at - outage.killedAt)} after the kill`;
              console.log(`  ${rollout.project} paused with an alert ${when}: ${reason}`);
            }
            rollout.pausedNow = paused;
            rollout.weight = weight;
            rollout.status = status;
            if (TERMINAL.has(status)) rollout.endedAt = at;
          }
        };
        const watchFor = async (ms: number, until: () => boolean = () => false): Promise<void> => {
          const end = now() + ms;
          while (now() < end && !until()) {
            await observe();
            await sleep(OUTAGE_POLL_MS);
          }
        };

        // Prometheus goes down once every canary takes traffic and its analysis passed: each rollout is under way.
        await watchFor(DEPLOY_TIMEOUT_MS, () => rollouts.every((rollout) => rollout.servingAt !== undefined || rollout.endedAt !== undefined));
        await watchFor(OUTAGE_START_WAIT_MS, () => rollouts.every((rollout) => rollout.passedAt !== undefined || rollout.endedAt !== undefined));
        await observe();
        for (const rollout of rollouts) rollout.atKill = { weight: rollout.weight, status: rollout.status };
        const servingAt = rollouts.map((rollout) => rollout.servingAt ?? Number.NaN);
        const passed = rollouts.filter((rollout) => rollout.passedAt !== undefined).length;
        console.log(
          `  the canaries took traffic within ${seconds(Math.max(...servingAt) - Math.min(...servingAt))} of each other; ${passed} of ${RUNS} passed their analysis; ` +
            `killing Prometheus for ${OUTAGE_S} s`,
        );
        await prometheus.kill();
        const killedAt = now();
        outage.killedAt = killedAt;
        await watchFor(OUTAGE_S * 1000);
        await prometheus.restart();
        const restartedAt = now();
        outage.restartedAt = restartedAt;
        console.log(`  Prometheus back after ${seconds(restartedAt - killedAt)}`);

        // An alert pause waits for a person: once the source is back, promote says go on (once per pause).
        const deadline = now() + DEPLOY_TIMEOUT_MS;
        while (now() < deadline && rollouts.some((rollout) => rollout.endedAt === undefined)) {
          await observe();
          for (const rollout of rollouts) {
            if (!rollout.pausedNow || rollout.promotes >= rollout.pauses.length) continue;
            rollout.promotes += 1;
            await bench.api.call('POST', bench.rolloutPath('promote', rollout.project), {});
          }
          await sleep(OUTAGE_POLL_MS);
        }
        // Stopping Maestro waits for every rollout in progress: one still going must not outlive the scenario.
        for (const rollout of rollouts.filter((candidate) => candidate.endedAt === undefined)) {
          console.log(`  ${rollout.project} still ${rollout.status} at ${rollout.weight}% ${seconds(now() - restartedAt)} after Prometheus was back: aborting it`);
          await bench.api.call('POST', bench.rolloutPath('abort', rollout.project), { reason: 'bench: still going after the outage' });
          await bench.finished(rollout.id);
        }
        return { rollouts, started, killedAt, restartedAt, machine };
      },
      projects.map(outageHost),
    );
    const { rollouts, killedAt, restartedAt, machine } = result;
    const ended = await Promise.all(rollouts.map(async (rollout) => (await bench.api.call<DeploymentView>('GET', `/v1/deployments/${rollout.id}`)).body));
    for (const [index, rollout] of rollouts.entries()) {
      const deployment = ended[index]!;
      const held =
        rollout.movedAfterKill === undefined
          ? 'did not move on'
          : `held ${seconds(rollout.movedAfterKill - killedAt)}, next step ${seconds(rollout.movedAfterKill - restartedAt)} after Prometheus was back`;
      const pauses = rollout.pauses.length === 0 ? 'no pause' : `${rollout.pauses.length} alert pause${rollout.pauses.length === 1 ? '' : 's'} (${rollout.pauses.map((pause) => pause.cause).join(', ')})`;
      console.log(
        `  ${rollout.project}: at ${rollout.atKill?.weight}% (${rollout.atKill?.status}) when Prometheus went down; ${held}; ${rollout.providerErrors} provider-error verdicts; ${pauses}; ` +
          `${deployment.status}${deployment.error ? `: ${deployment.error}` : ''}${rollout.endedAt === undefined ? ' (still going at the end)' : ''}`,
      );
    }
    const timeline = answers(load);
    const summary = loadSummary(load, timeline);
    console.log(`  ${summary.text}`);

    const count = (test: (rollout: OutageRollout, deployment: DeploymentView) => boolean): number => rollouts.filter((rollout, index) => test(rollout, ended[index]!)).length;
    const midway = count((rollout) => rollout.atKill?.status === 'deploying' && rollout.servingAt !== undefined && rollout.atKill.weight < 100);
    const rolledBack = count((_, deployment) => deployment.status === 'rolled_back');
    const succeeded = count((_, deployment) => deployment.status === 'succeeded');
    const sawOutage = count((rollout) => rollout.providerErrors > 0 && /Prometheus at \S+ (is not reachable|did not answer)/.test(rollout.providerReason ?? ''));
    const advanced = count((rollout) => rollout.advancedInOutage);
    const providerPauses = count((rollout) => rollout.pauses.some((pause) => pause.cause === 'provider'));
    const evidencePauses = count((rollout) => rollout.pauses.some((pause) => pause.cause === 'evidence'));
    const providerPausesExpected = OUTAGE_S * 1000 > budgetMs ? RUNS : 0;
    const spread = (values: number[]): string => {
      const known = values.filter(Number.isFinite);
      if (known.length === 0) return 'n/a';
      const text = `${seconds(percentile(known, 0.5))} / ${seconds(Math.min(...known))} / ${seconds(Math.max(...known))}`;
      return known.length === values.length ? text : `${text} (${known.length} of ${values.length})`;
    };
    const moved = rollouts.map((rollout) => rollout.movedAfterKill ?? Number.NaN);
    report({ scenario: 'prometheus', figure: 'canaries mid-rollout when Prometheus went down', value: `${midway} of ${RUNS}`, target: String(RUNS), pass: midway === RUNS });
    report({ scenario: 'prometheus', figure: 'canaries whose analysis met it as unreachable', value: `${sawOutage} of ${RUNS}`, target: String(RUNS), pass: sawOutage === RUNS });
    report({ scenario: 'prometheus', figure: `false rollbacks over ${RUNS} healthy canaries`, value: String(rolledBack), target: '0', pass: rolledBack === 0 });
    report({ scenario: 'prometheus', figure: 'weight raised while Prometheus was down', value: String(advanced), target: '0', pass: advanced === 0 });
    report({
      scenario: 'prometheus',
      figure: `canaries paused for the outage (budget ${seconds(budgetMs)}, outage ${OUTAGE_S} s)`,
      value: String(providerPauses),
      target: String(providerPausesExpected),
      pass: providerPauses === providerPausesExpected,
    });
    report({ scenario: 'prometheus', figure: 'canaries paused for too little evidence', value: String(evidencePauses), target: '0', pass: evidencePauses === 0 });
    const polled = `, read every ${seconds(OUTAGE_POLL_MS)}`;
    report({ scenario: 'prometheus', figure: `held at their weight from the kill, p50 / min / max${polled}`, value: spread(moved.map((at) => at - killedAt)), target: '' });
    report({ scenario: 'prometheus', figure: `next step once Prometheus was back, p50 / min / max${polled}`, value: spread(moved.map((at) => at - restartedAt)), target: '' });
    report({ scenario: 'prometheus', figure: 'promoted in the end', value: `${succeeded} of ${RUNS}`, target: String(RUNS), pass: succeeded === RUNS });
    report({ scenario: 'prometheus', figure: 'rollout duration p50 / min / max', value: spread(rollouts.map((rollout) => (rollout.endedAt ?? Number.NaN) - result.started)), target: '' });
    report({ scenario: 'prometheus', figure: 'rate achieved', value: `${summary.rate.toFixed(0)} requests/s (asked ${RATE}; ${load.skipped} slots skipped)`, target: '' });
    const errorRate = timeline.filter((answer) => answer.status === 500).length / timeline.length;
    report({ scenario: 'prometheus', figure: 'background 500s seen by the load (expected ~0.5%)', value: `${(errorRate * 100).toFixed(2)}%`, target: '' });
    const otherFailures = timeline.filter((answer) => !answer.ok && answer.status !== 500).length + load.abandoned;
    report({
      scenario: 'prometheus',
      figure: "failures other than the app's own 500s",
      value: `${otherFailures} (${failuresByCause(timeline.filter((answer) => answer.status !== 500), load.abandoned)})`,
      target: '0',
      pass: otherFailures === 0,
    });
    report({ scenario: 'prometheus', figure: 'answers from the wrong revision', value: String(load.mismatched), target: '0', pass: load.mismatched === 0 });
    report({
      scenario: 'prometheus',
      figure: 'machine: 1-minute load average / memory in use, peaks',
      value: `${machine.load.toFixed(2)} on ${cpus().length} cores / ${(machine.memory / 1024 ** 3).toFixed(1)} GiB`,
      target: '',
    });
  } finally {
    await prometheus.close();
  }
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

runBench('bench:canary', WATCHDOG_MS, async (onCleanup) => {
  const started = now();
  const versions = new Versions();
  onCleanup(() => versions.remove());
  // Maestro must know Prometheus' address before it starts; the prometheus scenario starts it there, the others never ask it.
  const prometheusPort = await freePort();
  const running = await startBenchMaestro('canary', { prometheusUrl: `http://127.0.0.1:${prometheusPort}` });
  onCleanup(() => running.stop());
  const bench = new Bench(running, versions);
  const chosen = SCENARIOS.filter((name) => !ONLY || ONLY.includes(name));
  console.log(`Maestro canary benchmark: ${chosen.join(', ')}; ${RATE} requests/s (${HIGH_RATE}/s for high-rate) through the router`);
  console.log(`(Maestro started in ${fmtMs(now() - started)}; router port ${running.maestro.routerPort})`);

  const scenarios: Record<Scenario, () => Promise<void>> = {
    broken: () => badCanary(bench, 'broken', 1),
    slow: () => badCanary(bench, 'slow', 1),
    noisy: () => noisy(bench),
    prometheus: () => prometheusOutage(bench, prometheusPort),
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
