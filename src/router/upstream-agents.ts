import { Agent } from 'node:http';

/**
 * One keep-alive connection pool per upstream (`host:port`). node:http's Agent rather than undici:
 * measured with `npm run bench:router`, the node:http client gave the proxy more requests/s than undici's
 * Pool (dispatch API) once the response is piped into a node:http server response — both sides share
 * the same native HTTP parser and stream machinery, while undici's WASM parser and the handler-to-stream
 * glue cost more than they save. It also reports `reusedSocket`, which tells a stale keep-alive reset
 * (safe to retry on a fresh connection) from an app that is down.
 */
export class UpstreamAgents {
  private readonly agents = new Map<string, Agent>();
  private retired = new Set<string>();

  get(upstream: string): Agent {
    let agent = this.agents.get(upstream);
    if (!agent) {
      agent = new Agent({
        keepAlive: true,
        // LIFO keeps a few hot connections busy and lets the rest idle out.
        scheduling: 'lifo',
        maxFreeSockets: 256,
        // Idle connections are closed before the app's own keep-alive timeout (node's default is 5 s); the
        // app's `Keep-Alive: timeout=N` hint, when present, shortens this further.
        timeout: 4_000,
      });
      this.agents.set(upstream, agent);
    }
    this.retired.delete(upstream);
    return agent;
  }

  /** Connections currently open to an upstream (busy and idle), for tests and stats. */
  openConnections(upstream: string): number {
    const agent = this.agents.get(upstream);
    if (!agent) return 0;
    const count = (pool: NodeJS.ReadOnlyDict<unknown[]>): number =>
      Object.values(pool).reduce((sum, sockets) => sum + (sockets?.length ?? 0), 0);
    return count(agent.sockets) + count(agent.freeSockets);
  }

  /**
   * Close pools of upstreams no table routes to once their requests have finished; requests still running
   * on them (a draining revision) are left alone until the next sweep.
   */
  sweep(active: Set<string>): void {
    for (const upstream of this.agents.keys()) if (!active.has(upstream)) this.retired.add(upstream);
    for (const upstream of this.retired) {
      const agent = this.agents.get(upstream);
      if (!agent) {
        this.retired.delete(upstream);
        continue;
      }
      const busy = Object.values(agent.sockets).some((sockets) => (sockets?.length ?? 0) > 0);
      const queued = Object.values(agent.requests).some((requests) => (requests?.length ?? 0) > 0);
      if (!busy && !queued) {
        agent.destroy();
        this.agents.delete(upstream);
        this.retired.delete(upstream);
      }
    }
  }

  destroyAll(): void {
    for (const agent of this.agents.values()) agent.destroy();
    this.agents.clear();
    this.retired.clear();
  }
}
