// `npm run bench:build`: how long builds take, and how long a change takes to reach users, for an app with
// real npm dependencies (examples/node-express: `npm ci` against the npm registry, 2 replicas).
//
// The workspace is a copy of the example in a temporary folder. Maestro runs in this process (API,
// runner, embedded database; the router and the apps are its child processes), deploying through the
// API exactly as `maestro deploy` does. Each figure is the median of --runs runs (3 by default):
//
// - cold build: a fresh Maestro (new data folder, so nothing cached anywhere) deploys the workspace.
//   Each cold run gets its own Maestro, so a dependency cache, once there is one, cannot warm them up.
// - dependency-cache hit: the last cold Maestro deploys the workspace with one file changed (server.js),
//   the lockfile untouched: a build that a dependency cache would serve `node_modules` for. It counts as
//   a hit only when the build's install step reports `cache: 'hit'` (node_modules restored from the
//   cache kept under the data folder, keyed by the lockfile). If it does not (a pipeline without the
//   dependency cache re-runs `npm ci`), the benchmark says the hit is not available and prints the
//   one-file-change figure for what it is, without a target.
// - no-change rebuild: the same source deployed again; the build reuses the artifact (every step
//   'skipped' with cache 'hit'), so its time is the bookkeeping of a reused build.
//
// Deploy-to-serving: from the start of the deploy (pack, upload, create deployment) to the first answer
// through the router from the new revision (the router's x-maestro-revision header names it; for a
// change, the body shows the change too), polled every ~10 ms.
//
// Targets: a no-change redeploy serves within 5 s; a one-file change with a dependency hit within 10 s.
// Exit status 1 if a target that could be measured is missed. Options: --runs 3.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  buildDurationMs,
  median,
  ms,
  now,
  positive,
  RouterProbe,
  runBench,
  startBenchMaestro,
  table,
  type Api,
  type BenchMaestro,
  type BuildView,
  type DeploymentView,
} from './support.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '3' } } });
const RUNS = positive('runs', values.runs);

const EXAMPLE = fileURLToPath(new URL('../examples/node-express', import.meta.url));
const PROJECT = 'express-demo';
const SERVICE = 'api';
const HOST = `${SERVICE}.production.${PROJECT}.localhost`;
/** The line of server.js a one-file change edits (what `/` answers). */
const GREETING = 'Hello from Express on Maestro';

const TARGET_NO_CHANGE_SERVING_MS = 5_000;
const TARGET_ONE_FILE_DEPENDENCY_HIT_SERVING_MS = 10_000;
/** npm ci against the registry, then two replicas: generous, a slow registry is not a stuck benchmark. */
const DEPLOY_TIMEOUT_MS = 5 * 60_000;
const WATCHDOG_MS = 20 * 60_000;

interface Run {
  label: string;
  build: BuildView;
  buildMs: number;
  /** Deploy start to the first answer from the new revision through the router. */
  servingMs: number;
  /** Deploy start to the deployment's `succeeded` (the previous revision parked warm). */
  finishedMs: number;
}

const stepMs = (build: BuildView, name: string): number => build.steps.find((step) => step.name === name)?.durationMs ?? Number.NaN;
const installCache = (build: BuildView): string => build.steps.find((step) => step.name === 'install')?.cache ?? 'none';

/**
 * Deploy `dir` and, at the same time, poll the deployment (to learn its revision) and the router (for
 * the first answer from that revision that also passes `expect`).
 */
async function timedDeploy(api: Api, probe: RouterProbe, dir: string, label: string, expect: (body: string) => boolean = () => true): Promise<Run> {
  const started = now();
  const [created] = await api.deploy(PROJECT, dir);
  if (!created) throw new Error('the deploy created no deployment');
  let latest: DeploymentView = created;
  let finished = false;
  const following = api.waitDeployment(created.id, DEPLOY_TIMEOUT_MS).finally(() => (finished = true));
  const watching = (async () => {
    while (!finished) {
      latest = (await api.call<DeploymentView>('GET', `/v1/deployments/${created.id}`)).body;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  })();
  const serving = probe
    .until((answer) => latest.revision !== null && answer.revision === latest.revision && expect(answer.body), DEPLOY_TIMEOUT_MS, () => finished)
    .catch(async (error: unknown) => {
      // The deployment ended between two probes: one last look before calling it a failure.
      const done = await following;
      const answer = await probe.get();
      if (answer?.status === 200 && answer.revision === done.revision && expect(answer.body)) return now();
      throw error;
    });
  const [servingAt, done] = await Promise.all([serving, following]);
  const finishedMs = now() - started;
  await watching;
  const build = await api.buildOf(done);
  return { label, build, buildMs: buildDurationMs(build), servingMs: servingAt - started, finishedMs };
}

function describe(run: Run): string {
  const steps = run.build.steps.map((step) => `${step.name} ${step.status}${step.cache ? `/${step.cache}` : ''}${step.durationMs !== null ? ` ${step.durationMs} ms` : ''}`).join(', ');
  return `${run.label.padEnd(22)} build ${ms(run.buildMs).padStart(9)}   serving after ${ms(run.servingMs).padStart(8)}   (${steps})`;
}

runBench('bench:build', WATCHDOG_MS, async (onCleanup) => {
  const runStarted = now();
  const workspace = mkdtempSync(join(tmpdir(), 'maestro-bench-build-workspace-'));
  onCleanup(() => rmSync(workspace, { recursive: true, force: true }));
  cpSync(EXAMPLE, workspace, { recursive: true });
  const serverFile = join(workspace, 'server.js');
  const original = readFileSync(serverFile, 'utf8');
  if (!original.includes(GREETING)) throw new Error(`${EXAMPLE}/server.js no longer says "${GREETING}"; update the benchmark`);

  console.log(`Maestro build benchmark: examples/node-express (npm ci against the registry, 2 replicas), ${RUNS} runs of each`);

  // Cold: a fresh Maestro each time. The last one stays up for the warm runs.
  const cold: Run[] = [];
  let current: BenchMaestro | undefined;
  let probe: RouterProbe | undefined;
  onCleanup(async () => {
    await probe?.close().catch(() => undefined);
    await current?.stop();
  });
  for (let i = 1; i <= RUNS; i += 1) {
    if (current) {
      await probe?.close();
      await current.stop();
    }
    current = await startBenchMaestro('build');
    probe = new RouterProbe(current.maestro.routerPort, HOST);
    const run = await timedDeploy(current.api, probe, workspace, `cold ${i}`);
    cold.push(run);
    console.log(describe(run));
  }
  const { api } = current!;

  // One file changed, the lockfile not: what a dependency cache would serve.
  const oneFile: Run[] = [];
  for (let i = 1; i <= RUNS; i += 1) {
    const marker = `${GREETING} [change ${i}]`;
    writeFileSync(serverFile, original.replace(GREETING, marker));
    const run = await timedDeploy(api, probe!, workspace, `one-file change ${i}`, (body) => body.includes(marker));
    oneFile.push(run);
    console.log(describe(run));
  }

  // Nothing changed: the same source again.
  const noChange: Run[] = [];
  for (let i = 1; i <= RUNS; i += 1) {
    const run = await timedDeploy(api, probe!, workspace, `no-change redeploy ${i}`);
    noChange.push(run);
    console.log(describe(run));
    const notReused = run.build.steps.filter((step) => step.status !== 'skipped' || step.cache !== 'hit');
    if (notReused.length > 0) throw new Error(`a redeploy of the same source ran steps (${notReused.map((step) => step.name).join(', ')}) instead of reusing the artifact`);
  }

  const coldBuild = median(cold.map((run) => run.buildMs));
  const oneFileBuild = median(oneFile.map((run) => run.buildMs));
  const noChangeBuild = median(noChange.map((run) => run.buildMs));
  const ratio = (value: number): string => (Number.isFinite(value) && coldBuild > 0 ? `${(value / coldBuild).toFixed(3)}x` : 'n/a');
  const hits = oneFile.filter((run) => installCache(run.build) === 'hit');
  const dependencyHit = hits.length === oneFile.length;
  const coldHits = cold.filter((run) => installCache(run.build) === 'hit').length;

  const noChangeServing = median(noChange.map((run) => run.servingMs));
  const oneFileServing = median(oneFile.map((run) => run.servingMs));
  const checks: Record<string, boolean> = { noChangeServing: noChangeServing <= TARGET_NO_CHANGE_SERVING_MS };
  if (dependencyHit) checks.oneFileServing = oneFileServing <= TARGET_ONE_FILE_DEPENDENCY_HIT_SERVING_MS;
  const verdict = (key: string): string => (checks[key] === undefined ? 'n/a' : checks[key] ? 'PASS' : 'FAIL');
  const reported = [...new Set(oneFile.map((run) => installCache(run.build)))].join('/');
  const notWired =
    hits.length === 0
      ? `not available: dependency cache not wired (install reported cache=${reported}, npm ci ran again)`
      : `not available: only ${hits.length} of ${oneFile.length} one-file builds hit the dependency cache (install reported cache=${reported})`;

  console.log('');
  console.log('build time (a runner starting the build to its end), median of each kind:');
  console.log(
    table([
      ['build', 'median', 'runs', 'ratio to cold', 'install step (median)'],
      ['cold', ms(coldBuild), cold.map((run) => ms(run.buildMs)).join(', '), '1.000x', ms(median(cold.map((run) => stepMs(run.build, 'install'))))],
      dependencyHit
        ? ['dependency-cache hit', ms(oneFileBuild), oneFile.map((run) => ms(run.buildMs)).join(', '), ratio(oneFileBuild), 'skipped/hit (node_modules restored)']
        : ['dependency-cache hit', notWired, '', '', ''],
      ...(dependencyHit
        ? []
        : [['one-file change (cache miss)', ms(oneFileBuild), oneFile.map((run) => ms(run.buildMs)).join(', '), ratio(oneFileBuild), ms(median(oneFile.map((run) => stepMs(run.build, 'install'))))]]),
      ['no-change rebuild (reused)', ms(noChangeBuild), noChange.map((run) => ms(run.buildMs)).join(', '), ratio(noChangeBuild), 'skipped/hit'],
    ]),
  );
  if (coldHits > 0) console.log(`(warning: ${coldHits} cold build(s) reported an install cache hit in a fresh data folder; the cold figure is not cold)`);
  const coldStep = (name: string): string =>
    cold.every((run) => run.build.steps.find((step) => step.name === name)?.status === 'skipped') ? 'skipped (no command)' : ms(median(cold.map((run) => stepMs(run.build, name))));
  console.log(
    `cold build steps (median): ${['install', 'build', 'test', 'package'].map((name) => `${name} ${coldStep(name)}`).join(', ')}; ` +
      `cold deploy to serving (median) ${ms(median(cold.map((run) => run.servingMs)))}`,
  );
  console.log('');
  console.log('deploy to serving (start of the deploy to the first answer from the new revision through the router):');
  console.log(
    table([
      ['deploy', 'median', 'runs', 'until succeeded (median)', 'target', 'result'],
      ['no-change redeploy', ms(noChangeServing), noChange.map((run) => ms(run.servingMs)).join(', '), ms(median(noChange.map((run) => run.finishedMs))), '<= 5000 ms', verdict('noChangeServing')],
      dependencyHit
        ? ['one-file change, dependency hit', ms(oneFileServing), oneFile.map((run) => ms(run.servingMs)).join(', '), ms(median(oneFile.map((run) => run.finishedMs))), '<= 10000 ms', verdict('oneFileServing')]
        : ['one-file change, dependency hit', notWired, '', '', '<= 10000 ms', 'n/a'],
      ...(dependencyHit
        ? []
        : [['one-file change (npm ci again)', ms(oneFileServing), oneFile.map((run) => ms(run.servingMs)).join(', '), ms(median(oneFile.map((run) => run.finishedMs))), '(no target)', '']]),
    ]),
  );
  const allPass = Object.values(checks).every(Boolean);
  console.log(
    `\n${allPass ? 'PASS' : 'FAIL'}: ${Object.keys(checks).length} measurable target(s)${dependencyHit ? '' : ' (the dependency-hit target could not be measured)'}; whole run ${((now() - runStarted) / 1000).toFixed(0)} s`,
  );
  return allPass ? 0 : 1;
});
