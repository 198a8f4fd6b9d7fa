import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { FastifyInstance } from 'fastify';
import { buildApi, ROUTER_WAKE_PATH, type RateLimits } from '../api/index.js';
import type { SandboxPolicy } from '../build/index.js';
import { MaestroError, createLogger, errorMessage, type Logger } from '../common/index.js';
import { generateToken, hashToken } from '../identity/index.js';
import { Agent } from '../runtime/index.js';
import { openStore, type Store } from '../store/index.js';
import { loadOrganisationPolicies, type OrganisationPolicies } from '../policy/index.js';
import { openSigningKey } from '../supply-chain/provenance/index.js';
import { ControlPlane, type ControlPlaneOptions } from './control-plane.js';
import { dataPaths, type DataPaths } from './paths.js';
import { isAlive } from './process-util.js';
import { recover } from './recovery.js';
import { ensureRouter, stopRouterProcess, type RunningRouter } from './router-process.js';

export interface UpOptions {
  dataDir: string;
  /**
   * URL schemes a GitHub or GitLab delivery's clone URL may use (https and http by default); `file` lets
   * an on-disk mirror, or a test's local repository, stand in for the provider.
   */
  hookFetchProtocols?: string[];
  apiPort: number;
  routerPort: number;
  routerAdminPort: number;
  /** Address the API and the router listen on. */
  host: string;
  databaseUrl?: string;
  maxUploadBytes: number;
  startTimeoutMs: number;
  releaseTimeoutMs: number;
  releasesKept: number;
  /** Builds run at once by this control plane (0 leaves them to `maestro runner` processes). */
  buildConcurrency: number;
  /** Builds of one project running at once, across all runners. */
  buildsPerProject: number;
  /** Whether builds run in bubblewrap: when available ('auto'), always ('require') or never ('off'). */
  sandbox: SandboxPolicy;
  /** The build cache's size cap. */
  cacheMaxBytes: number;
  /** What the data directory may use before caches and unused artifacts are evicted. */
  diskCeilingBytes?: number;
  /** A Prometheus-compatible query API for `prometheus:` analysis checks. */
  prometheusUrl?: string;
  /** Outgoing webhook delivery settings (timeouts, retry backoff). */
  webhooks?: ControlPlaneOptions['webhooks'];
  /** OSV advisories builds are scanned against (`--advisories`, MAESTRO_ADVISORIES): a folder, an all.zip or a .tar.gz. */
  advisories?: string;
  /** Also ask npm's bulk advisory endpoint (`--npm-advisories`). */
  npmAdvisories?: ControlPlaneOptions['npmAdvisories'];
  /** A folder of organisation policy files (.yml); without it the default policies apply alone. */
  policiesDir?: string;
  /** API requests a minute per token and per address; the API's defaults when absent. */
  rateLimits?: RateLimits;
  logger?: Logger;
  /** Told things a person starting Maestro must see once (the admin token). */
  announce?: (line: string) => void;
}

export interface RunningMaestro {
  apiUrl: string;
  apiPort: number;
  routerPort: number;
  routerAdminPort: number;
  paths: DataPaths;
  plane: ControlPlane;
  store: Store;
  /** The admin token when this start created it (printed once), else undefined. */
  createdAdminToken?: string;
  /** The organisation's policies (from `policiesDir`) with the defaults: what every release is gated on. */
  policies: OrganisationPolicies;
  /** Stop the control plane; with `stopApps` also the router and every replica (a clean `maestro down`). */
  stop(options: { stopApps: boolean }): Promise<void>;
}

export const DEFAULT_OPTIONS = {
  apiPort: 7070,
  routerPort: 8080,
  routerAdminPort: 7071,
  host: '127.0.0.1',
  maxUploadBytes: 200 * 1024 * 1024,
  startTimeoutMs: 60_000,
  releaseTimeoutMs: 10 * 60_000,
  releasesKept: 20,
  buildConcurrency: 2,
  buildsPerProject: 2,
  sandbox: { mode: 'auto' } as SandboxPolicy,
  cacheMaxBytes: 10 * 1024 ** 3,
} as const;

export function maestroVersion(): string {
  const pkg = createRequire(import.meta.url)('../../package.json') as { version: string };
  return pkg.version;
}

/** The control plane's own pid file: one per data directory, and `maestro down` reads it. */
interface ControlPlaneInfo {
  pid: number;
  apiPort: number;
  routerPort: number;
  startedAt: string;
}

export function readControlPlaneInfo(paths: DataPaths): ControlPlaneInfo | undefined {
  try {
    const info = JSON.parse(readFileSync(paths.controlPlanePid, 'utf8')) as ControlPlaneInfo;
    return isAlive(info.pid) ? info : undefined;
  } catch {
    return undefined;
  }
}

/**
 * `maestro up`: the store, the agent (adopting replicas that outlived a previous control plane), the
 * router process (adopted or started), recovery, then the API.
 */
export async function startMaestro(options: UpOptions): Promise<RunningMaestro> {
  const paths = dataPaths(options.dataDir);
  mkdirSync(paths.root, { recursive: true });
  const running = readControlPlaneInfo(paths);
  if (running && running.pid !== process.pid) {
    throw new MaestroError('conflict', `Maestro is already running for ${paths.root} (pid ${running.pid}, API on port ${running.apiPort}); stop it with \`maestro down\``);
  }
  const logger = options.logger ?? createLogger({ name: 'maestro' });
  // Read first: a broken policy file stops the start before anything runs, with every problem in it.
  const policies = await loadOrganisationPolicies(options.policiesDir);
  const store = await openStore({ dataDir: paths.root, ...(options.databaseUrl ? { databaseUrl: options.databaseUrl } : {}) });
  // Opened now, so a master key that does not open the signing key stops the start (with what to do)
  // instead of failing the first build; the first start makes both.
  const signingKey = await openSigningKey({ store, dataDir: paths.root }).catch(async (error: unknown) => {
    await store.close();
    throw error;
  });
  let router: RunningRouter | undefined;
  let api: FastifyInstance | undefined;
  let plane: ControlPlane | undefined;
  const agent = new Agent({ stateDir: paths.agentState, logDir: paths.replicaLogs });
  try {
    const createdAdminToken = await ensureAdminToken(store, paths);
    router = await ensureRouter(paths, { port: options.routerPort, adminPort: options.routerAdminPort, host: options.host });
    logger.info({ pid: router.info.pid, port: router.info.port, adopted: router.adopted }, 'router ready');

    const started = new ControlPlane(store, agent, router.client, paths, logger, {
      routerPort: router.info.port,
      startTimeoutMs: options.startTimeoutMs,
      releaseTimeoutMs: options.releaseTimeoutMs,
      releasesKept: options.releasesKept,
      buildConcurrency: options.buildConcurrency,
      buildsPerProject: options.buildsPerProject,
      sandbox: options.sandbox,
      cacheMaxBytes: options.cacheMaxBytes,
      ...(options.diskCeilingBytes !== undefined ? { diskCeilingBytes: options.diskCeilingBytes } : {}),
      ...(options.prometheusUrl ? { prometheusUrl: options.prometheusUrl } : {}),
      ...(options.webhooks ? { webhooks: options.webhooks } : {}),
      ...(options.advisories ? { advisories: options.advisories } : {}),
      ...(options.npmAdvisories ? { npmAdvisories: options.npmAdvisories } : {}),
      signingKey,
      policies,
      builderVersion: maestroVersion(),
    });
    plane = started;
    await started.prepare();
    await recover(started, logger);
    started.startWork();
    // Read the advisories now, so a wrong --advisories path shows in the log at start rather than at the first scan.
    void started.vulnerabilities.advisoriesStatus().then((status) => {
      if (status?.status === 'ok') logger.info({ path: status.path, advisories: status.advisories, problems: status.problemCount }, 'advisories loaded');
      else if (status) logger.warn({ path: status.path, reason: status.reason }, 'advisories unavailable: vulnerability scans will say so');
    });

    api = await buildApi({ plane: started, store, logger, maxUploadBytes: options.maxUploadBytes, version: maestroVersion(), pushReceiver: started.intake, policies, ...(options.hookFetchProtocols ? { hookFetchProtocols: options.hookFetchProtocols } : {}), ...(options.rateLimits ? { rateLimits: options.rateLimits } : {}) });
    await api.listen({ port: options.apiPort, host: options.host }).catch((error: NodeJS.ErrnoException) => {
      throw error.code === 'EADDRINUSE'
        ? new MaestroError('conflict', `the API port ${options.apiPort} is already in use; choose another with --api-port`)
        : error;
    });
    const address = api.server.address();
    const apiPort = typeof address === 'object' && address ? address.port : options.apiPort;
    writeFileSync(paths.controlPlanePid, JSON.stringify({ pid: process.pid, apiPort, routerPort: router.info.port, startedAt: new Date().toISOString() }));
    const apiUrl = `http://${options.host === '0.0.0.0' ? '127.0.0.1' : options.host}:${apiPort}`;
    // Sleeping previews' routes tell the router where to ask for them to wake.
    started.routes.wakeThrough(`${apiUrl}${ROUTER_WAKE_PATH}`, () => started.sleeper.sleepingEnvironments());

    const supervisor = superviseRouter({ paths, options, plane: started, logger, get: () => router!, set: (next) => (router = next) });
    const heal = setInterval(() => started.routes.schedule(), 10_000);
    heal.unref();

    let stopped = false;
    return {
      apiUrl,
      apiPort,
      routerPort: router.info.port,
      routerAdminPort: router.info.adminPort,
      paths,
      plane: started,
      store,
      policies,
      ...(createdAdminToken ? { createdAdminToken } : {}),
      async stop({ stopApps }) {
        if (stopped) return;
        stopped = true;
        clearInterval(supervisor);
        clearInterval(heal);
        await api?.close();
        await started.close();
        await agent.shutdown({ stopReplicas: stopApps });
        if (stopApps) await stopRouterProcess(paths);
        await store.close();
        if (existsSync(paths.controlPlanePid)) rmSync(paths.controlPlanePid, { force: true });
      },
    };
  } catch (error) {
    await api?.close().catch(() => undefined);
    await plane?.close().catch(() => undefined);
    // A router this start launched goes with it; one adopted from before keeps serving.
    if (router && !router.adopted) await stopRouterProcess(paths).catch(() => undefined);
    await agent.shutdown({ stopReplicas: false }).catch(() => undefined);
    await store.close().catch(() => undefined);
    throw error;
  }
}

/** On the very first start there is no token at all: make the admin one, store its hash, show it once. */
async function ensureAdminToken(store: Store, paths: DataPaths): Promise<string | undefined> {
  const tokens = await store.tokens.list();
  if (tokens.length > 0) return undefined;
  const token = generateToken();
  await store.tokens.create({ name: 'admin', hash: hashToken(token), role: 'owner' });
  writeFileSync(paths.adminToken, token + '\n', { mode: 0o600 });
  return token;
}

/** The router is its own process; if it dies, start it again and give it the table at once. */
function superviseRouter(input: {
  paths: DataPaths;
  options: UpOptions;
  plane: ControlPlane;
  logger: Logger;
  get: () => RunningRouter;
  set: (router: RunningRouter) => void;
}): NodeJS.Timeout {
  let busy = false;
  const timer = setInterval(async () => {
    if (busy) return;
    busy = true;
    try {
      await input.get().client.health();
    } catch {
      try {
        input.logger.warn('the router stopped answering; starting it again');
        const next = await ensureRouter(input.paths, {
          port: input.get().info.port,
          adminPort: input.get().info.adminPort,
          host: input.options.host,
        });
        input.set(next);
        input.plane.routes.useRouter(next.client);
        await input.plane.routes.push();
      } catch (error) {
        input.logger.error({ err: errorMessage(error) }, 'could not restart the router');
      }
    } finally {
      busy = false;
    }
  }, 2_000);
  timer.unref();
  return timer;
}
