import type { Logger } from '../common/index.js';
import { errorMessage } from '../common/index.js';
import type { Agent } from '../runtime/index.js';
import type { RouteTable, RouterClient } from '../router/index.js';
import { composeRouteTable, type LiveService } from '../rollout/index.js';
import type { Store, TrafficShift } from '../store/index.js';
import type { DeploymentPlan } from './deployer.js';

/**
 * Keeps the router's table equal to what the store says is live and what the agent says is healthy.
 * Every change asks for a push; pushes are coalesced, and a periodic push heals a restarted router.
 */
export class RouteSync {
  private version = 0;
  private pending: Promise<RouteTable> | undefined;
  private again = false;
  private last: RouteTable | undefined;
  /** Until recovery has seen the adopted replicas healthy, pushing would replace a good table with 503s. */
  private holding = true;
  /** Whether a deployment's strategy asked for sticky clients; a deployment's plan never changes. */
  private readonly stickyByDeployment = new Map<string, boolean>();

  constructor(
    private readonly store: Store,
    private readonly agent: Agent,
    private router: RouterClient,
    private readonly logger: Logger,
    /** False for a replica being retired: out of the table even while healthy. */
    private readonly serves: (replicaId: string) => boolean = () => true,
  ) {}

  private wake: { url: string; sleeping: () => Promise<Set<string>> } | undefined;

  /** Routes of sleeping environments (`project/environment`) carry `url`, which the router asks to wake them. */
  wakeThrough(url: string, sleeping: () => Promise<Set<string>>): void {
    this.wake = { url, sleeping };
  }

  useRouter(client: RouterClient): void {
    this.router = client;
  }

  /** The router's admin client (its figures feed rollout analysis). */
  get client(): RouterClient {
    return this.router;
  }

  /** Start numbering above whatever the router already has, so it never refuses our tables as stale. */
  async init(): Promise<void> {
    try {
      const current = await this.router.getRoutes();
      this.version = Math.max(this.version, current.version);
    } catch {
      // A router without a table yet starts at 0.
    }
  }

  get current(): RouteTable | undefined {
    return this.last;
  }

  /** Compose and push now; resolves once the router has accepted the table (or a newer one). */
  push(): Promise<RouteTable> {
    this.holding = false;
    if (this.pending) {
      this.again = true;
      return this.pending.then(() => this.push());
    }
    this.pending = this.pushOnce().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  /** Allow pushes; called once recovery knows which replicas are healthy. */
  open(): void {
    this.holding = false;
  }

  /** Fire-and-forget push, for health changes. */
  schedule(): void {
    if (this.holding || (this.again && this.pending)) return;
    this.push().catch((error: unknown) => this.logger.warn({ err: errorMessage(error) }, 'route table push failed'));
  }

  /** Whether the rollout behind a traffic split keeps clients on the revision they were first sent to. */
  private async isSticky(shift: TrafficShift): Promise<boolean> {
    if (shift.deploymentId === undefined) return false;
    let sticky = this.stickyByDeployment.get(shift.deploymentId);
    if (sticky === undefined) {
      const deployment = await this.store.deployments.get(shift.deploymentId);
      const strategy = (deployment?.config as DeploymentPlan | undefined)?.environment?.strategy;
      sticky = strategy?.type === 'canary' && strategy.sticky === true;
      this.stickyByDeployment.set(shift.deploymentId, sticky);
    }
    return sticky;
  }

  private async pushOnce(): Promise<RouteTable> {
    this.again = false;
    const shifts = new Map((await this.store.traffic.list()).map((shift) => [`${shift.serviceId}/${shift.environmentId}`, shift]));
    const live: LiveService[] = [];
    for (const row of await this.store.live.list()) {
      const shift = shifts.get(`${row.serviceId}/${row.environmentId}`);
      const split = shift !== undefined && shift.revisionId !== row.revisionId;
      const weights = split
        ? [
            { revisionId: row.revisionId, weight: 100 - shift.weight },
            { revisionId: shift.revisionId, weight: shift.weight },
          ]
        : [{ revisionId: row.revisionId, weight: 100 }];
      live.push({
        project: row.projectName,
        service: row.serviceName,
        environment: row.environmentName,
        weights,
        ...(shift?.preview ? { previewRevisionId: shift.revisionId } : {}),
        ...(split ? { canaryRevisionId: shift.revisionId } : {}),
        ...(split && (await this.isSticky(shift)) ? { sticky: true } : {}),
      });
    }
    const splitting = new Set([...shifts.values()].map((shift) => shift.deploymentId));
    for (const deploymentId of this.stickyByDeployment.keys()) if (!splitting.has(deploymentId)) this.stickyByDeployment.delete(deploymentId);
    const replicas = this.agent.list().map((replica) => ({
      revisionId: replica.revisionId,
      port: replica.port,
      healthy: replica.state === 'healthy' && this.serves(replica.id),
    }));
    this.version = Math.max(this.version + 1, Date.now());
    const table = composeRouteTable(live, replicas, this.version);
    if (this.wake) {
      const asleep = await this.wake.sleeping();
      for (const route of table.routes) if (asleep.has(`${route.project}/${route.environment}`)) route.wakeUrl = this.wake.url;
    }
    await this.router.putRoutes(table);
    this.last = table;
    return table;
  }
}
