import { join } from 'node:path';
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { Runner, runnerName } from '../../build/index.js';
import { formatCacheStats, type CacheStats } from '../../build/cache/index.js';
import { MaestroError, createLogger, formatBytes } from '../../common/index.js';
import { EventBus } from '../../events/index.js';
import { BUILD_JOB, BuildExecutor, remoteBlobs, resolveDataDir } from '../../server/index.js';
import { openStore } from '../../store/index.js';
import { ApiClient } from '../api-client.js';
import { resolveCredentials } from '../credentials.js';
import { createOutput, table } from '../output.js';
import { readEvents } from '../sse.js';

interface BuildView {
  id: string;
  deployment: string;
  project: string;
  service: string;
  status: string;
  error: string | null;
  createdAt: string;
  queueWaitMs: number | null;
  attempts: number;
  steps: Array<{ name: string; status: string; cache: string | null; durationMs: number | null; attempt: number }>;
}

const stepSummary = (build: BuildView): string =>
  build.steps.map((s) => `${s.name}:${s.status}${s.cache ? `(${s.cache})` : ''}${s.durationMs !== null ? ` ${s.durationMs}ms` : ''}`).join(' ');

export function buildsCommands(program: Command): void {
  program
    .command('builds')
    .description('Recent builds with their pipeline steps (install, build, test, package) and the queue')
    .option('-p, --project <name>', 'only this project')
    .option('-n, --limit <count>', 'how many', '20')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  maestro builds\n  maestro builds --project hello --json\n')
    .action(async (options: { project?: string; limit: string; json?: boolean }) => {
      const out = createOutput(options);
      const client = new ApiClient(resolveCredentials());
      const query = new URLSearchParams({ limit: String(Number(options.limit) || 20), ...(options.project ? { project: options.project } : {}) });
      const result = await client.call<{ builds: BuildView[]; queue: { queued: number; running: number } }>('GET', `/v1/builds?${query}`);
      out.result(result, () => [
        ...table([
          ['BUILD', 'PROJECT', 'SERVICE', 'STATUS', 'QUEUED', 'STEPS'],
          ...result.builds.map((b) => [b.id, b.project, b.service, b.status, b.queueWaitMs === null ? '-' : `${b.queueWaitMs}ms`, stepSummary(b)]),
        ]),
        `queue: ${result.queue.queued} waiting, ${result.queue.running} running`,
      ]);
    });

  program
    .command('cache')
    .description('The build cache')
    .command('stats')
    .description('Hit rate, size and evictions of the dependency and build-output cache')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const out = createOutput(options);
      const stats = await new ApiClient(resolveCredentials()).call<CacheStats>('GET', '/v1/cache/stats');
      out.result(stats, () => formatCacheStats(stats));
    });

  program
    .command('artifacts')
    .description('Stored build artifacts')
    .command('ls')
    .description('Artifacts with their size and whether a live, warm or recent release uses them')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const out = createOutput(options);
      const result = await new ApiClient(resolveCredentials()).call<{
        artifacts: Array<{ digest: string; sizeBytes: number; createdAt: string; inUse: boolean }>;
      }>('GET', '/v1/artifacts');
      out.result(result, () =>
        table([
          ['DIGEST', 'SIZE', 'CREATED', 'IN USE'],
          ...result.artifacts.map((a) => [a.digest.slice(0, 16), formatBytes(a.sizeBytes), a.createdAt, a.inUse ? 'yes' : 'no']),
        ]),
      );
    });

  const build = program.command('build').description('One build: its logs, or cancel it');
  build
    .command('logs')
    .description("A build's output, step by step")
    .argument('<id>', 'the build id (see `maestro builds`)')
    .option('-f, --follow', 'keep printing until the build ends')
    .addHelpText('after', '\nExample:\n  maestro build logs bld_k3q7x2m4ba9z -f\n')
    .action(async (id: string, options: { follow?: boolean }) => {
      const client = new ApiClient(resolveCredentials());
      const view = await client.call<BuildView>('GET', `/v1/builds/${encodeURIComponent(id)}`);
      const path = `/v1/deployments/${view.deployment}/events?follow=${options.follow ? 'true' : 'false'}`;
      for await (const event of readEvents(client, path)) {
        const data = (event.data as { data?: Record<string, unknown> }).data ?? {};
        if (event.event === 'log') process.stdout.write(`${data.step ? `[${String(data.step)}] ` : ''}${String(data.line)}\n`);
        else if (event.event === 'step') process.stdout.write(`--- ${String(data.step)}: ${String(data.state)}${data.cache ? ` (cache ${String(data.cache)})` : ''}\n`);
        else if (event.event === 'progress') process.stdout.write(`--- ${String(data.message)}\n`);
        else if (event.event === 'status' && options.follow && ['deploying', 'succeeded', 'failed', 'cancelled'].includes(String(data.status))) break;
      }
    });
  build
    .command('cancel')
    .description('Stop a queued or running build and its processes')
    .argument('<id>', 'the build id')
    .option('--json', 'print JSON')
    .action(async (id: string, options: { json?: boolean }) => {
      const out = createOutput(options);
      const client = new ApiClient(resolveCredentials());
      const view = await client.call<BuildView>('POST', `/v1/builds/${encodeURIComponent(id)}/cancel`);
      out.result(view, () => `build ${view.id} is ${view.status}`);
    });
}

export function runnerCommand(program: Command): void {
  program
    .command('runner')
    .description('Take builds from a shared Postgres queue and run them (on this or another machine)')
    .requiredOption('--database-url <url>', 'the control plane\'s Postgres server (env MAESTRO_DATABASE_URL)', process.env.MAESTRO_DATABASE_URL)
    .option('--concurrency <n>', 'builds at once', '2')
    .option('--builds-per-project <n>', 'builds of one project running at once, across all runners', '2')
    .option('-d, --data-dir <dir>', 'where this runner keeps its work folders and caches', undefined)
    .option('--require-sandbox', 'refuse to run builds when bubblewrap is not available')
    .addHelpText('after', '\nThe runner fetches sources from and uploads artifacts to the API (MAESTRO_URL, MAESTRO_TOKEN).\n\nExample:\n  MAESTRO_URL=http://cp:7070 MAESTRO_TOKEN=... maestro runner --database-url postgres://maestro@db/maestro\n')
    .action(async (options: { databaseUrl?: string; concurrency: string; buildsPerProject: string; dataDir?: string; requireSandbox?: boolean }) => {
      if (!options.databaseUrl?.startsWith('postgres')) {
        throw new InvalidArgumentError('--database-url takes the postgres:// URL the control plane uses; runners share its queue (the embedded database cannot be shared)');
      }
      const concurrency = Number(options.concurrency);
      if (!Number.isInteger(concurrency) || concurrency < 1) throw new InvalidArgumentError(`--concurrency takes a whole number of at least 1, got "${options.concurrency}"`);
      const credentials = resolveCredentials();
      const dataDir = resolveDataDir(options.dataDir ?? join(resolveDataDir(), 'runner'));
      const logger = createLogger({ name: 'maestro-runner' });
      const store = await openStore({ dataDir, databaseUrl: options.databaseUrl });
      const executor = new BuildExecutor({
        store,
        bus: new EventBus(),
        workDir: join(dataDir, 'work'),
        logDir: join(dataDir, 'logs'),
        blobs: await remoteBlobs({ apiUrl: credentials.url, token: credentials.token, cacheDir: join(dataDir, 'blobs') }),
        options: { sandbox: { mode: options.requireSandbox ? 'require' : 'auto' } },
        hidden: [dataDir],
      });
      const runner = new Runner({
        store,
        owner: runnerName(),
        kinds: [BUILD_JOB],
        concurrency,
        perProjectLimit: Math.max(1, Number(options.buildsPerProject) || 2),
        logger,
        execute: (job, signal) => executor.execute(job, signal),
      });
      runner.start();
      process.stdout.write(`runner ${runner.owner} is taking builds (${concurrency} at once); Ctrl-C stops it\n`);
      await new Promise<void>((resolve) => {
        const stop = (): void => void runner.stop({ abort: true }).then(() => store.close()).then(resolve);
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      if (runner.running > 0) throw new MaestroError('internal', 'the runner stopped with builds in hand');
    });
}
