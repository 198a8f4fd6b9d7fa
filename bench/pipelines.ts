// `npm run bench:pipelines`: 200 pipelines queued at once all finish, none with an error; how long they
// wait in the queue and how long the lot takes.
//
// What is benchmarked is the build pipeline and its durable queue, so the design keeps everything else
// out of the way:
// - 200 deployments of one tiny service (node-hello's app, a build step of `echo ok > out.txt`), each
//   from its own source: the same files plus `index.txt` holding its number, so the 200 sources have 200
//   digests and every deployment is a distinct build (the same source would reuse the first artifact and
//   skip the pipeline). Sources are uploaded before the clock starts; then the 200 deployments are
//   created as fast as the API takes them, which is "queued at once".
// - A pipeline counts as finished when its build ends (install -> build -> test -> package, artifact
//   stored). The rollouts that follow are not what is measured: Maestro rolls out one deployment at a
//   time per service and environment, so 200 of them are 200 app starts one after another, a figure
//   about process start-up, not about the queue. They still run (a deployment cannot skip its rollout),
//   one at a time, on a tiny app with a fast health check so they cost little while the builds run; the
//   benchmark reports when the last one was live, for information, and waits for them before stopping.
// - One project by default (--projects spreads the deployments over several, one service each). The
//   in-process runner keeps its defaults: buildConcurrency 2 and buildsPerProject 2, on a 2-core machine
//   (--build-concurrency raises both if wanted; the run says which were used).
//
// Figures: builds succeeded / failed / retried; queue wait (the API's queueWaitMs: job queued to a runner
// taking it) p50/p95/max; deploy-to-build-start (deployment created to its build starting, which adds the
// reconciler's time to queue the job) p50/p95; build time p50/p95; the control plane's event-loop delay
// (it shares this process); total time from the first create call to the last build's end; builds per
// second.
//
// Target: all --count (200) pipelines succeed; the run fails (exit 1) otherwise or if it takes longer than
// --limit seconds (180) to finish the builds.
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import {
  buildDurationMs,
  ms,
  now,
  percentile,
  positive,
  runBench,
  seconds,
  sleep,
  startBenchMaestro,
  table,
  type BuildView,
  type DeploymentView,
} from './support.js';

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '200' },
    projects: { type: 'string', default: '1' },
    'build-concurrency': { type: 'string' },
    limit: { type: 'string', default: '180' },
  },
});
const COUNT = positive('count', values.count);
const PROJECTS = positive('projects', values.projects);
const BUILD_CONCURRENCY = values['build-concurrency'] === undefined ? undefined : positive('build-concurrency', values['build-concurrency']);
const LIMIT_MS = positive('limit', values.limit) * 1000;

const EXAMPLE = fileURLToPath(new URL('../examples/node-hello', import.meta.url));
const SERVICE = 'app';
/** Deployments created at once; the API answers each in a few milliseconds. */
const CREATE_PARALLEL = 8;
const POLL_MS = 1_000;
/** The API lists at most this many builds at a time. */
const LIST_LIMIT = 500;
const WATCHDOG_MS = 10 * 60_000;

const project = (index: number): string => `pipelines-${index % PROJECTS}`;

function manifest(projectName: string): string {
  return [
    `project: ${projectName}`,
    'services:',
    `  ${SERVICE}:`,
    '    build:',
    '      command: echo ok > out.txt',
    '    start: node server.js',
    '    health:',
    '      path: /healthz',
    '      interval: 100ms',
    'environments:',
    '  production:',
    '    strategy: immediate',
    '    drain: 0s',
    '',
  ].join('\n');
}

async function inParallel<T, R>(items: readonly T[], width: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await work(items[index]!, index);
      }
    }),
  );
  return results;
}

runBench('bench:pipelines', WATCHDOG_MS, async (onCleanup) => {
  const runStarted = now();
  const bench = await startBenchMaestro('pipelines', BUILD_CONCURRENCY ? { buildConcurrency: BUILD_CONCURRENCY, buildsPerProject: BUILD_CONCURRENCY } : {});
  onCleanup(() => bench.stop());
  const { api } = bench;
  const concurrency = BUILD_CONCURRENCY ?? 2;
  console.log(
    `Maestro pipelines benchmark: ${COUNT} distinct builds of a trivial service queued at once, ${PROJECTS} project(s); ` +
      `buildConcurrency ${concurrency}, buildsPerProject ${concurrency}${BUILD_CONCURRENCY ? ' (raised with --build-concurrency)' : ' (the defaults)'}`,
  );

  // 200 sources, uploaded before the clock starts.
  const uploadFrom = now();
  const sourcesDir = join(bench.dir, 'sources');
  const indexes = Array.from({ length: COUNT }, (_, i) => i);
  const sources = await inParallel(indexes, 4, async (i) => {
    const dir = join(sourcesDir, String(i));
    mkdirSync(dir, { recursive: true });
    cpSync(join(EXAMPLE, 'server.js'), join(dir, 'server.js'));
    cpSync(join(EXAMPLE, 'package.json'), join(dir, 'package.json'));
    writeFileSync(join(dir, 'maestro.yml'), manifest(project(i)));
    writeFileSync(join(dir, 'index.txt'), `${i}\n`);
    return api.upload(dir);
  });
  if (new Set(sources).size !== COUNT) throw new Error('the sources should all have distinct digests');
  console.log(`${COUNT} sources packed and uploaded in ${ms(now() - uploadFrom)} (Maestro started in ${ms(uploadFrom - runStarted)})`);

  // The control plane runs in this process, embedded database included: how long its event loop was held
  // up while the pipelines ran says how much of the time went to the control plane's own bookkeeping.
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  const queuedFrom = Date.now();
  const deployments: DeploymentView[] = await inParallel(indexes, CREATE_PARALLEL, async (i) => {
    const [deployment] = await api.createDeployments(project(i), sources[i]!);
    if (!deployment) throw new Error(`deployment ${i} was not created`);
    return deployment;
  });
  const createdMs = Date.now() - queuedFrom;
  console.log(`${COUNT} deployments created in ${ms(createdMs)}`);

  // Wait for the queue to empty and every deployment to have a finished build. The queue counts are one
  // cheap query; the full list (a few queries per build) is only read when they say the work is done.
  const deadline = queuedFrom + LIMIT_MS;
  let builds: BuildView[] = [];
  const ids = new Set(deployments.map((deployment) => deployment.id));
  let polls = 0;
  while (true) {
    const { body } = await api.call<{ queue: { queued: number; running: number } }>('GET', '/v1/builds?limit=1');
    if (body.queue.queued === 0 && body.queue.running === 0) {
      builds = [];
      for (let p = 0; p < PROJECTS; p += 1) builds.push(...(await api.builds(project(p), LIST_LIMIT)));
      builds = builds.filter((build) => ids.has(build.deployment));
      const finished = builds.filter((build) => build.status !== 'pending' && build.status !== 'running');
      if (finished.length === COUNT) break;
    }
    if (Date.now() > deadline) break;
    polls += 1;
    if (polls % 5 === 0) console.log(`  ${((Date.now() - queuedFrom) / 1000).toFixed(0)} s: ${body.queue.queued} queued, ${body.queue.running} running`);
    await sleep(POLL_MS);
  }

  loopDelay.disable();
  const byDeployment = new Map(deployments.map((deployment) => [deployment.id, deployment]));
  const succeeded = builds.filter((build) => build.status === 'succeeded');
  const failed = builds.filter((build) => build.status === 'failed' || build.status === 'cancelled');
  const retried = builds.filter((build) => build.attempts > 1);
  const reused = builds.filter((build) => build.steps.every((step) => step.status === 'skipped'));
  const lastEnd = Math.max(...builds.map((build) => Date.parse(build.finishedAt ?? '')));
  const totalMs = builds.length === COUNT && Number.isFinite(lastEnd) ? lastEnd - queuedFrom : Number.POSITIVE_INFINITY;
  const queueWait = succeeded.map((build) => build.queueWaitMs ?? Number.NaN);
  const toStart = succeeded.map((build) => Date.parse(build.startedAt ?? '') - Date.parse(byDeployment.get(build.deployment)!.createdAt));
  const buildTimes = succeeded.map(buildDurationMs);

  console.log('');
  console.log(
    table([
      ['figure', 'p50', 'p95', 'max'],
      ['queue wait (job queued -> runner took it)', ms(percentile(queueWait, 0.5)), ms(percentile(queueWait, 0.95)), ms(Math.max(...queueWait))],
      ['deployment created -> build started', ms(percentile(toStart, 0.5)), ms(percentile(toStart, 0.95)), ms(Math.max(...toStart))],
      ['build time (started -> finished)', ms(percentile(buildTimes, 0.5)), ms(percentile(buildTimes, 0.95)), ms(Math.max(...buildTimes))],
    ]),
  );
  console.log('');
  console.log(
    `builds: ${succeeded.length} succeeded, ${failed.length} failed or cancelled, ${COUNT - builds.length} never listed, ${retried.length} needed more than one attempt, ` +
      `${reused.length} reused an artifact instead of running`,
  );
  for (const build of failed.slice(0, 5)) console.log(`  ${build.id} ${build.status}: ${build.error}`);
  const slowest = [...succeeded].sort((a, b) => buildDurationMs(b) - buildDurationMs(a)).slice(0, 3);
  console.log(
    `slowest builds: ${slowest
      .map((build) => `${ms(buildDurationMs(build))} (${build.steps.map((step) => `${step.name} ${step.durationMs ?? '-'}`).join(', ')}; started ${seconds(Date.parse(build.startedAt ?? '') - queuedFrom)} in)`)
      .join('; ')}`,
  );
  const loopMs = (value: number): string => ms(value / 1e6);
  console.log(
    `control plane event-loop delay while the builds ran: p50 ${loopMs(loopDelay.percentile(50))}, p99 ${loopMs(loopDelay.percentile(99))}, max ${loopMs(loopDelay.max)}`,
  );
  console.log(`total: ${seconds(totalMs)} from the first create call to the last build's end (${(COUNT / (totalMs / 1000)).toFixed(1)} builds/s)`);

  // The rollouts, one at a time per service: for information, and so Maestro stops with nothing in flight.
  let live = 0;
  let liveAt = Number.NaN;
  const rolloutDeadline = Date.now() + 5 * 60_000;
  while (Date.now() < rolloutDeadline) {
    const list = (await api.call<{ deployments: DeploymentView[] }>('GET', `/v1/deployments?limit=${Math.min(500, COUNT + 10)}`)).body.deployments.filter((d) => ids.has(d.id));
    const open = list.filter((d) => d.status === 'pending' || d.status === 'building' || d.status === 'deploying');
    live = list.filter((d) => d.status === 'succeeded').length;
    if (open.length === 0) {
      liveAt = Math.max(...list.map((d) => Date.parse(d.finishedAt ?? '')));
      break;
    }
    await sleep(2_000);
  }
  console.log(
    `rollouts (not benchmarked): ${live}/${COUNT} deployments succeeded, the last ended ${seconds(liveAt - queuedFrom)} after the first create call`,
  );

  const pass = succeeded.length === COUNT && totalMs <= LIMIT_MS;
  console.log(
    `\n${pass ? 'PASS' : 'FAIL'}: ${succeeded.length}/${COUNT} pipelines succeeded, finished in ${seconds(totalMs)} (limit ${LIMIT_MS / 1000} s); whole run ${((now() - runStarted) / 1000).toFixed(0)} s`,
  );
  return pass ? 0 : 1;
});
