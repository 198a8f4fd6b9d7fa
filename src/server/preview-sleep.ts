import { errorMessage, type Logger } from '../common/index.js';
import type { ServiceConfig } from '../manifest/index.js';
import type { Preview, Store } from '../store/index.js';
import type { RevisionRunner } from './revisions.js';
import type { RouteSync } from './route-sync.js';

/** How long a waking preview's replicas may take to be healthy. */
const WAKE_HEALTHY_TIMEOUT_MS = 60_000;

/** A preview with no request for its project's `previewIdleMs` sleeps, unless it is deploying. */
export function isIdle(input: { now: number; idleMs: number | undefined; lastActivity: number; deploying: boolean }): boolean {
  return input.idleMs !== undefined && input.idleMs > 0 && !input.deploying && input.now - input.lastActivity >= input.idleMs;
}

/** `web.pr-7.shop.localhost` -> the project and environment it serves; undefined for anything else. */
export function environmentOfHost(host: string): { project: string; environment: string } | undefined {
  const labels = host.toLowerCase().split('.');
  if (labels.length !== 4 || labels[3] !== 'localhost') return undefined;
  return { environment: labels[1]!, project: labels[2]! };
}

/**
 * Idle previews sleep: their replicas stop (the live records stay, so nothing is rebuilt), and their
 * routes carry the wake URL, so the router holds the next request, asks here, and sends it on once the
 * replicas are healthy again.
 */
export class PreviewSleeper {
  constructor(
    private readonly deps: {
      store: Store;
      runner: RevisionRunner;
      routes: RouteSync;
      logger: Logger;
    },
  ) {}

  /** The environments asleep now, as `project/environment`, for the route table. */
  async sleepingEnvironments(): Promise<Set<string>> {
    const { store } = this.deps;
    const asleep = new Set<string>();
    for (const preview of await store.previews.listLive()) {
      if (preview.state !== 'sleeping') continue;
      const project = await store.projects.getById(preview.projectId);
      if (project) asleep.add(`${project.name}/${preview.name}`);
    }
    return asleep;
  }

  /** Puts every idle preview to sleep; `lastRequestAt` is the router's view, by host. */
  async sweep(lastRequestAt: Record<string, number>, now = Date.now()): Promise<string[]> {
    const { store } = this.deps;
    const slept: string[] = [];
    const unfinished = await store.deployments.unfinished();
    for (const preview of await store.previews.listLive()) {
      if (preview.state !== 'active' || !preview.environmentId) continue;
      const project = await store.projects.getById(preview.projectId);
      if (!project?.previewIdleMs) continue;
      const suffix = `.${preview.name}.${project.name}.localhost`;
      const routed = Object.entries(lastRequestAt)
        .filter(([host]) => host.endsWith(suffix))
        .map(([, at]) => at);
      const lastActivity = Math.max(preview.updatedAt.getTime(), preview.lastRequestAt?.getTime() ?? 0, ...routed);
      const deploying = unfinished.some((deployment) => deployment.environmentId === preview.environmentId);
      if (!isIdle({ now, idleMs: project.previewIdleMs, lastActivity, deploying })) continue;
      await this.sleep(preview);
      slept.push(`${project.name}/${preview.name}`);
    }
    return slept;
  }

  private async sleep(preview: Preview): Promise<void> {
    const { store, runner, routes, logger } = this.deps;
    await store.previews.setState(preview.id, 'sleeping');
    await routes.push().catch(() => undefined);
    for (const row of await this.liveRows(preview)) {
      await runner.stop(row.revisionId, 0).catch((error: unknown) => logger.warn({ revision: row.revisionId, err: errorMessage(error) }, 'stopping a sleeping preview failed'));
      if (row.previousRevisionId) await runner.stop(row.previousRevisionId, 0).catch(() => undefined);
    }
    await routes.push().catch(() => undefined);
    logger.info({ preview: preview.name }, 'preview idle: asleep until its next request');
  }

  private readonly waking = new Map<string, Promise<void>>();

  /**
   * The router's wake call: starts a sleeping preview's live revisions again, in the background. The
   * preview stays marked asleep (its routes keep the wake URL, so requests keep being held rather than
   * refused) until its replicas are healthy; the table that serves them releases the held requests.
   * False when the host is no preview.
   */
  async wake(host: string): Promise<boolean> {
    const { store } = this.deps;
    const target = environmentOfHost(host);
    if (!target) return false;
    const project = await store.projects.get(target.project);
    const preview = project && (await store.previews.getByName(project.id, target.environment));
    if (!preview || preview.state === 'destroyed') return false;
    if (preview.state === 'active' || this.waking.has(preview.id)) return true;
    const task = this.startAgain(preview)
      .catch((error: unknown) => this.deps.logger.warn({ preview: preview.name, err: errorMessage(error) }, 'waking a preview failed'))
      .finally(() => this.waking.delete(preview.id));
    this.waking.set(preview.id, task);
    return true;
  }

  /** Waits for wakes in progress (tests, shutdown). */
  async idle(): Promise<void> {
    await Promise.allSettled([...this.waking.values()]);
  }

  private async startAgain(preview: Preview): Promise<void> {
    const { store, runner, routes } = this.deps;
    await store.previews.touch(preview.id, new Date());
    const started: string[] = [];
    for (const row of await this.liveRows(preview)) {
      const revision = await store.revisions.get(row.revisionId);
      if (!revision) continue;
      const config = revision.config as ServiceConfig;
      const missing = config.replicas - runner.replicas(revision.id).length;
      if (missing > 0) await runner.start(revision, config, missing);
      started.push(revision.id);
    }
    for (const revisionId of started) await runner.awaitHealthy(revisionId, WAKE_HEALTHY_TIMEOUT_MS);
    await store.previews.setState(preview.id, 'active');
    await routes.push().catch(() => undefined);
  }

  private async liveRows(preview: Preview) {
    const project = await this.deps.store.projects.getById(preview.projectId);
    return (await this.deps.store.live.list()).filter((row) => row.projectName === project?.name && row.environmentName === preview.name);
  }
}
