import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { MaestroError, parseDuration, parseSize } from '../../common/index.js';
import { Agent } from '../../runtime/index.js';
import { runRouterProcess, parseRouterArgs } from '../../router/index.js';
import {
  DEFAULT_OPTIONS,
  dataPaths,
  readControlPlaneInfo,
  resolveDataDir,
  startMaestro,
  stopRouterProcess,
  type RunningMaestro,
  type UpOptions,
} from '../../server/index.js';
import { waitForExit } from '../../server/process-util.js';
import { DEFAULT_RATE_LIMITS } from '../../api/index.js';

interface UpFlags {
  dataDir?: string;
  apiPort: string;
  routerPort: string;
  routerAdminPort: string;
  host: string;
  databaseUrl?: string;
  maxUpload: string;
  startTimeout: string;
  buildConcurrency: string;
  buildsPerProject: string;
  requireSandbox?: boolean;
  cacheSize: string;
  diskCeiling?: string;
  advisories?: string;
  npmAdvisories?: string | boolean;
  npmAdvisoriesRequired?: boolean;
  prometheusUrl?: string;
  policies?: string;
  rateLimitToken: string;
  rateLimitAddress: string;
}

function size(value: string, flag: string): number {
  const bytes = parseSize(value);
  if (bytes === undefined) throw new InvalidArgumentError(`${flag} takes a size such as 10Gi, got "${value}"`);
  return bytes;
}

function count(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 1000) throw new InvalidArgumentError(`${flag} takes a whole number from 0 to 1000, got "${value}"`);
  return n;
}

function perMinute(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError(`${flag} takes a number of requests per minute, at least 1, got "${value}"`);
  return n;
}

function port(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError(`${flag} takes a port from 0 to 65535, got "${value}"`);
  return n;
}

export function upOptions(flags: UpFlags): UpOptions {
  const maxUploadBytes = parseSize(flags.maxUpload);
  if (maxUploadBytes === undefined) throw new InvalidArgumentError(`--max-upload takes a size such as 200Mi, got "${flags.maxUpload}"`);
  const startTimeoutMs = parseDuration(flags.startTimeout);
  if (startTimeoutMs === undefined) throw new InvalidArgumentError(`--start-timeout takes a duration such as 60s, got "${flags.startTimeout}"`);
  const databaseUrl = flags.databaseUrl ?? process.env.MAESTRO_DATABASE_URL;
  return {
    dataDir: resolveDataDir(flags.dataDir),
    apiPort: port(flags.apiPort, '--api-port'),
    routerPort: port(flags.routerPort, '--router-port'),
    routerAdminPort: port(flags.routerAdminPort, '--router-admin-port'),
    host: flags.host,
    ...(databaseUrl ? { databaseUrl } : {}),
    maxUploadBytes,
    startTimeoutMs,
    releaseTimeoutMs: DEFAULT_OPTIONS.releaseTimeoutMs,
    releasesKept: DEFAULT_OPTIONS.releasesKept,
    buildConcurrency: count(flags.buildConcurrency, '--build-concurrency'),
    buildsPerProject: Math.max(1, count(flags.buildsPerProject, '--builds-per-project')),
    sandbox: { mode: flags.requireSandbox ? 'require' : 'auto' },
    cacheMaxBytes: size(flags.cacheSize, '--cache-size'),
    ...(flags.diskCeiling ? { diskCeilingBytes: size(flags.diskCeiling, '--disk-ceiling') } : {}),
    ...(flags.advisories ? { advisories: flags.advisories } : {}),
    ...(flags.npmAdvisories || flags.npmAdvisoriesRequired
      ? { npmAdvisories: { ...(typeof flags.npmAdvisories === 'string' ? { registry: flags.npmAdvisories } : {}), required: Boolean(flags.npmAdvisoriesRequired) } }
      : {}),
    ...(flags.prometheusUrl ? { prometheusUrl: flags.prometheusUrl } : {}),
    ...(flags.policies ? { policiesDir: flags.policies } : {}),
    rateLimits: {
      perTokenPerMinute: perMinute(flags.rateLimitToken, '--rate-limit-token'),
      perAddressPerMinute: perMinute(flags.rateLimitAddress, '--rate-limit-address'),
    },
  };
}

export function addServerOptions(command: Command): Command {
  return command
    .option('-d, --data-dir <dir>', 'where Maestro keeps its database, artifacts and logs (env MAESTRO_DATA_DIR)', undefined)
    .option('--api-port <port>', 'the API port', String(DEFAULT_OPTIONS.apiPort))
    .option('--router-port <port>', 'the port apps are served on', String(DEFAULT_OPTIONS.routerPort))
    .option('--router-admin-port <port>', "the router's admin and metrics port (loopback only)", String(DEFAULT_OPTIONS.routerAdminPort))
    .option('--host <address>', 'the address the API and router listen on', DEFAULT_OPTIONS.host)
    .option('--database-url <url>', 'a postgres:// URL to use a Postgres server instead of the embedded one (env MAESTRO_DATABASE_URL)')
    .option('--max-upload <size>', 'the largest source upload accepted', '200Mi')
    .option('--start-timeout <duration>', 'how long a new revision may take to become healthy', '60s')
    .option('--build-concurrency <n>', 'builds this server runs at once (0: leave them to `maestro runner` processes)', String(DEFAULT_OPTIONS.buildConcurrency))
    .option('--builds-per-project <n>', 'builds of one project running at once, across all runners', String(DEFAULT_OPTIONS.buildsPerProject))
    .option('--require-sandbox', 'refuse to run builds when bubblewrap is not available (otherwise they run unsandboxed with a warning)')
    .option('--cache-size <size>', 'the build cache\'s size cap (least recently used entries are evicted)', '10Gi')
    .option('--disk-ceiling <size>', 'what the data directory may use; caches, then unused artifacts are evicted to stay under it')
    .option('--advisories <path>', "OSV advisories to scan builds against: a folder of *.json, osv.dev's all.zip or a .tar.gz (env MAESTRO_ADVISORIES)", process.env.MAESTRO_ADVISORIES)
    .option('--npm-advisories [registry]', "also ask the npm registry's bulk advisory endpoint (default https://registry.npmjs.org); a registry that cannot answer only marks itself")
    .option('--npm-advisories-required', 'with --npm-advisories: a scan is unavailable when the registry cannot answer')
    .option('--prometheus-url <url>', 'a Prometheus-compatible query API for `prometheus:` checks in rollout analysis (env MAESTRO_PROMETHEUS_URL)', process.env.MAESTRO_PROMETHEUS_URL)
    .option('--policies <dir>', "a folder of organisation policy files (.yml) every release is gated on, beside Maestro's defaults (env MAESTRO_POLICIES)", process.env.MAESTRO_POLICIES)
    .option('--rate-limit-token <n>', 'API requests a minute per token or console session (the remote cache gets 10 times as many)', String(DEFAULT_RATE_LIMITS.perTokenPerMinute))
    .option('--rate-limit-address <n>', 'API requests a minute per address without valid credentials (failed logins and bad tokens count here)', String(DEFAULT_RATE_LIMITS.perAddressPerMinute));
}

export function announce(running: RunningMaestro): void {
  const lines = [
    `Maestro is up (data in ${running.paths.root})`,
    `  API      ${running.apiUrl}`,
    `  apps     http://<service>.<environment>.<project>.localhost:${running.routerPort}/`,
    `  policies ${running.policies.policies.length} checked before each rollout (${running.policies.files.length === 0 ? "Maestro's defaults" : `from ${running.policies.files.length} organisation file${running.policies.files.length === 1 ? '' : 's'}${running.policies.defaultsDropped ? '' : ' and the defaults'}`})`,
  ];
  if (running.createdAdminToken) {
    lines.push(
      '',
      `  admin token (shown once, also saved to ${running.paths.adminToken}):`,
      `    ${running.createdAdminToken}`,
    );
  }
  lines.push('', 'Deploy with `maestro deploy <dir>`; stop with Ctrl-C or `maestro down`.');
  process.stdout.write(lines.join('\n') + '\n');
}

/** Run until a signal: SIGINT/SIGTERM stop Maestro with its router and apps. */
export function stopOnSignal(running: RunningMaestro): Promise<void> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      process.stderr.write(`\n${signal}: stopping Maestro, its router and apps\n`);
      running.stop({ stopApps: true }).then(resolve, (error: unknown) => {
        process.stderr.write(`error while stopping: ${String(error)}\n`);
        resolve();
      });
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

export function upCommand(program: Command): void {
  addServerOptions(
    program
      .command('up')
      .description('Start the control plane and the router, and keep them running (Ctrl-C stops them and the apps)'),
  )
    .addHelpText('after', '\nExamples:\n  maestro up\n  maestro up --data-dir /var/lib/maestro --router-port 80 --host 0.0.0.0\n')
    .action(async (flags: UpFlags) => {
      const running = await startMaestro(upOptions(flags));
      announce(running);
      await stopOnSignal(running);
    });
}

export function downCommand(program: Command): void {
  program
    .command('down')
    .description('Stop Maestro for a data directory: the control plane, the router and every app')
    .option('-d, --data-dir <dir>', 'the data directory (env MAESTRO_DATA_DIR)')
    .action(async (flags: { dataDir?: string }) => {
      const paths = dataPaths(resolveDataDir(flags.dataDir));
      const info = readControlPlaneInfo(paths);
      if (info) {
        process.kill(info.pid, 'SIGTERM');
        if (!(await waitForExit(info.pid, 30_000))) throw new MaestroError('timeout', `Maestro (pid ${info.pid}) did not stop within 30 s`);
        process.stdout.write(`stopped Maestro (pid ${info.pid})\n`);
        return;
      }
      // No control plane: whatever outlived it (router, replicas) is stopped directly.
      await stopRouterProcess(paths);
      const agent = new Agent({ stateDir: paths.agentState, logDir: paths.replicaLogs });
      await agent.adopt();
      const count = agent.list().length;
      await agent.shutdown({ stopReplicas: true });
      process.stdout.write(`Maestro was not running; stopped the router and ${count} replica${count === 1 ? '' : 's'}\n`);
    });
}

/** The router process that `maestro up` starts (`maestro router --port ...`); not for people to run by hand. */
export async function runRouter(args: string[]): Promise<void> {
  await runRouterProcess(parseRouterArgs(args));
  await new Promise(() => undefined);
}
