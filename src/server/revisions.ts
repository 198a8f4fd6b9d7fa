import { existsSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { unpackArtifact, type ContentStore } from '../build/index.js';
import { errorMessage, type Logger } from '../common/index.js';
import type { ServiceConfig } from '../manifest/index.js';
import type { Agent, ReplicaStatus } from '../runtime/index.js';
import type { Revision } from '../store/index.js';
import { replicaUpstream } from '../rollout/index.js';
import { replicaSpec } from './replica-spec.js';
import { drainThroughRouter, within, type DrainTarget, type RouterConnections } from './revision-drain.js';

export interface RevisionRunnerOptions {
  /** The router serving the revisions (it may be replaced while running), asked before a revision stops. */
  router?: () => RouterConnections | undefined;
  /** Push a route table now; it leaves out the replicas being retired (`isRetiring`). */
  publishRoutes?: () => Promise<unknown>;
  logger?: Logger;
  /** Refuses an artifact whose signed provenance does not verify; called before it is unpacked to run. */
  verifyArtifact?: (artifactDigest: string) => Promise<unknown>;
}

/** Runs revisions as replicas: unpack the artifact once, start and stop the replicas through the agent. */
export class RevisionRunner {
  constructor(
    private readonly agent: Agent,
    private readonly artifacts: ContentStore,
    private readonly revisionsDir: string,
    private readonly options: RevisionRunnerOptions = {},
  ) {}

  /** Replicas taken out of traffic before they stop, while the rest of their revision serves on. */
  private readonly retiring = new Set<string>();

  /** Whether a replica is being retired: route tables leave it out even while it is healthy. */
  isRetiring(replicaId: string): boolean {
    return this.retiring.has(replicaId);
  }

  dir(revisionId: string): string {
    return join(this.revisionsDir, revisionId);
  }

  /** The revision's files, unpacked from its artifact (again, if a clean-up removed them). */
  async materialize(revision: Pick<Revision, 'id' | 'artifactDigest'>): Promise<string> {
    const dir = this.dir(revision.id);
    if (!existsSync(join(dir, '.maestro-ready'))) {
      // Also on a rollback or a wake: whatever is unpacked to run is checked against its attestation first.
      await this.options.verifyArtifact?.(revision.artifactDigest);
      await rm(dir, { recursive: true, force: true });
      await unpackArtifact(revision.artifactDigest, this.artifacts, dir);
      await writeFile(join(dir, '.maestro-ready'), revision.artifactDigest);
    }
    return dir;
  }

  replicas(revisionId: string): ReplicaStatus[] {
    return this.agent.list().filter((replica) => replica.revisionId === revisionId && replica.state !== 'stopped');
  }

  /** Start `count` more replicas; ids continue after the highest this revision has used. */
  async start(revision: Pick<Revision, 'id' | 'artifactDigest'>, config: ServiceConfig, count: number): Promise<ReplicaStatus[]> {
    const dir = await this.materialize(revision);
    const used = this.agent
      .list()
      .filter((replica) => replica.revisionId === revision.id)
      .map((replica) => Number(replica.id.slice(revision.id.length + 1)) || 0);
    let next = used.length > 0 ? Math.max(...used) + 1 : 1;
    const started: ReplicaStatus[] = [];
    for (let i = 0; i < count; i += 1, next += 1) {
      started.push(await this.agent.start(replicaSpec({ replicaId: `${revision.id}-${next}`, revisionId: revision.id, dir, config })));
    }
    return started;
  }

  /** Wait for every replica of the revision; rejects with the agent's reason for the first that fails. */
  async awaitHealthy(revisionId: string, timeoutMs: number): Promise<void> {
    await Promise.all(this.replicas(revisionId).map((replica) => this.agent.waitHealthy(replica.id, timeoutMs)));
  }

  /**
   * Stop every replica of a revision that traffic has moved away from. With a grace time (the
   * environment's drain), the router drains it first: its HTTP requests finish, its WebSockets get the
   * rest of that time to close on their own and are then closed by the router; the replicas get
   * SIGTERM after that, and SIGKILL if they are still running `graceMs` later.
   */
  async stop(revisionId: string, graceMs?: number): Promise<void> {
    if (graceMs !== undefined && graceMs > 0 && this.replicas(revisionId).length > 0) await this.drain({ revision: revisionId }, graceMs);
    const ids = this.agent.list().filter((replica) => replica.revisionId === revisionId).map((replica) => replica.id);
    await Promise.all(ids.map((id) => this.agent.stop(id, graceMs === undefined ? {} : { graceMs })));
  }

  private async drain(target: DrainTarget, drainMs: number): Promise<void> {
    const router = this.options.router?.();
    if (!router) return;
    const report = await drainThroughRouter(router, target, drainMs);
    const { logger } = this.options;
    const what = { revision: target.revision, ...(target.upstreams ? { upstreams: target.upstreams } : {}) };
    if (report.outcome === 'router_unreachable') {
      logger?.warn({ ...what, err: report.error }, 'could not ask the router to drain; stopping anyway');
    } else if (report.outcome === 'timed_out') {
      logger?.info(
        { ...what, drainMs, inFlight: report.inFlight, websocketsClosed: report.closedWebsockets },
        'drain time over: open WebSockets closed, stopping with what is still in flight',
      );
    }
  }

  /**
   * Stop `count` of the revision's replicas, newest first (a rolling update retiring old ones). With a
   * grace time they leave the route table first and drain like a whole revision does, while the
   * revision's other replicas serve on.
   */
  async stopSome(revisionId: string, count: number, graceMs?: number): Promise<void> {
    const newestFirst = this.replicas(revisionId).sort((a, b) => b.id.localeCompare(a.id, undefined, { numeric: true }));
    const chosen = newestFirst.slice(0, count);
    if (chosen.length === 0) return;
    const draining = graceMs !== undefined && graceMs > 0 && this.options.router !== undefined;
    if (draining) for (const replica of chosen) this.retiring.add(replica.id);
    try {
      if (draining) {
        // Taking them out of the table counts against the drain time, so a hung router delays nothing more.
        const started = Date.now();
        if (this.options.publishRoutes) {
          await within(this.options.publishRoutes(), graceMs).catch((error: unknown) =>
            this.options.logger?.warn({ revision: revisionId, err: errorMessage(error) }, 'could not take retiring replicas out of the route table'),
          );
        }
        const upstreams = chosen.map((replica) => replicaUpstream(replica.port));
        await this.drain({ revision: revisionId, upstreams }, Math.max(0, graceMs - (Date.now() - started)));
      }
      for (const replica of chosen) await this.agent.stop(replica.id, graceMs === undefined ? {} : { graceMs });
    } finally {
      for (const replica of chosen) this.retiring.delete(replica.id);
    }
  }

  async remove(revisionId: string): Promise<void> {
    await this.stop(revisionId);
    await rm(this.dir(revisionId), { recursive: true, force: true });
  }
}
