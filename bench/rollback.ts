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
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  Api,
  ms,
  now,
  percentile,
  positive,
  RouterProbe,
  runBench,
  sleep,
  startBenchMaestro,
  startLoad,
  table,
  type DeploymentView,
  type LoadReport,
} from './support.js';

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

const TARGET_ROLLBACK_P95_MS = 1_000;
const TARGET_DEPLOY_P50_MS = 3_000;
/** Steady traffic after a deploy and after a rollback, so each switch and its tail show in the timeline. */
const SETTLE_MS = 300;
const AFTER_ROLLBACK_MS = 700;
const PROBE_EVERY_MS = 10;
const DEPLOY_TIMEOUT_MS = 60_000;
/** The whole run is meant to take ~2-3 minutes; past this something is stuck. */
const WATCHDOG_MS = 6 * 60_000;

/** Which version of node-hello answers through the router now (its page says `version=v1`), if any. */
const versionIn = (body: string): string | undefined => /version=(\S+)/.exec(body)?.[1];

async function servedVersion(probe: RouterProbe): Promise<string | undefined> {
  const answer = await probe.get();
  return answer?.status === 200 ? versionIn(answer.body) : undefined;
}

/** Resolves with the time of the first answer from `version`; gives up when `stop()` says so or on timeout. */
function untilVersion(probe: RouterProbe, version: string, stop: () => boolean, timeoutMs = DEPLOY_TIMEOUT_MS): Promise<number> {
  return probe.until((answer) => versionIn(answer.body) === version, timeoutMs, stop, PROBE_EVERY_MS).catch(() => {
    throw new Error(`the router did not serve ${version} within ${timeoutMs} ms`);
  });
}

/** The steps of `maestro deploy`, against the API directly: pack, upload unless the server has it, create, follow. */
async function deploy(api: Api, dir: string): Promise<DeploymentView> {
  const [deployment] = await api.deploy(PROJECT, dir, ENVIRONMENT);
  return api.waitDeployment(deployment!.id, DEPLOY_TIMEOUT_MS);
}

interface DeployFigures {
  deploymentId: string;
  /** Start of the deploy call to the first answer of the new version through the router. */
  visibleMs: number;
  /** Start of the deploy call to the deployment's `succeeded` (the old revision parked warm). */
  finishedMs: number;
}

/** Deploy and, at the same time, watch the router for the new version. */
async function timedDeploy(api: Api, probe: RouterProbe, dir: string, version: string): Promise<DeployFigures> {
  const started = now();
  let finished = false;
  const deploying = deploy(api, dir).finally(() => (finished = true));
  // The deployment may fail before the router ever shows the version: the probe stops then too.
  const visible = untilVersion(probe, version, () => finished).catch(async (error: unknown) => {
    await deploying;
    // It finished successfully before the probe saw it (the probe was between two polls): one last look.
    if ((await servedVersion(probe)) === version) return now();
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

runBench('bench:rollback', WATCHDOG_MS, async (onCleanup) => {
  const runStarted = now();
  const bench = await startBenchMaestro('rollback');
  onCleanup(() => bench.stop());
  const { api, maestro } = bench;
  const probe = new RouterProbe(maestro.routerPort, HOST);
  onCleanup(() => probe.close().catch(() => undefined));

  // v2 is the example with one line changed: APP_VERSION v1 -> v2.
  const v2Dir = join(bench.dir, 'v2');
  cpSync(EXAMPLE, v2Dir, { recursive: true });
  const manifestFile = join(v2Dir, 'maestro.yml');
  const manifest = readFileSync(manifestFile, 'utf8');
  if (!/APP_VERSION: v1\b/.test(manifest)) throw new Error(`${EXAMPLE}/maestro.yml no longer sets APP_VERSION: v1; update the benchmark`);
  writeFileSync(manifestFile, manifest.replace(/APP_VERSION: v1\b/, 'APP_VERSION: v2'));

  console.log(`Maestro rollback benchmark: ${CYCLES} cycles of deploy v2 -> roll back to v1, under ${RATE} requests/s through the router`);
  console.log(`(Maestro started in ${ms(now() - runStarted)}; API ${maestro.apiUrl}, router port ${maestro.routerPort})`);

  const first = await timedDeploy(api, probe, EXAMPLE, 'v1');
  console.log(`v1 deployed and serving in ${ms(first.visibleMs)}`);

  const worker = await startLoad({ port: maestro.routerPort, host: HOST, rate: RATE, connections: CONNECTIONS });
  onCleanup(() => worker.kill());
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
    await untilVersion(probe, 'v1', () => false, 10_000);
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

  // Which deploys of v2 ran a build, and which reused the first one's artifact: a reused build is
  // recorded too, with every step skipped as a cache hit.
  let builds = 0;
  for (const cycle of cycles) {
    for (const build of await maestro.store.builds.forDeployment(cycle.deploy.deploymentId)) {
      const steps = await maestro.store.buildSteps.list(build.id);
      if (steps.some((step) => step.status !== 'skipped')) {
        builds += 1;
        break;
      }
    }
  }

  return summarise(report, cycles, marks, builds, now() - runStarted);
});

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
