import { errorMessage } from '../common/index.js';
import type { RouterClient, RouterStatsResponse } from '../router/index.js';

/** The router calls a drain makes: its per-revision figures, and closing a revision's WebSockets. */
export type RouterConnections = Pick<RouterClient, 'stats' | 'closeWebsockets'>;

/** What the router reports about a revision being retired, and how long the drain has run. */
export interface DrainObservation {
  elapsedMs: number;
  /** HTTP requests the router has sent to the revision and not yet answered. */
  inFlight: number;
  /** WebSockets the router holds open to the revision. */
  websockets: number;
}

/** What to drain: a whole revision, or only its replicas at these addresses (`host:port`) while the rest serve on. */
export interface DrainTarget {
  revision: string;
  upstreams?: string[];
}

export type DrainStep = { kind: 'wait' } | { kind: 'close_websockets' } | { kind: 'stop' };

/**
 * The next step of retiring a revision that traffic has already moved away from: while the drain time
 * lasts, wait for its HTTP requests to finish and its WebSockets to close on their own; once both are
 * done, stop it; when the time is up, have the router close the WebSockets still open (they go last),
 * then stop it. Pure.
 */
export function decideDrain(observation: DrainObservation, drainMs: number): DrainStep {
  const busy = observation.inFlight > 0 || observation.websockets > 0;
  if (busy && observation.elapsedMs < drainMs) return { kind: 'wait' };
  return observation.websockets > 0 ? { kind: 'close_websockets' } : { kind: 'stop' };
}

export interface DrainReport {
  /** `drained`: nothing left open; `timed_out`: the drain time ended first; `router_unreachable`: the router could not be asked. */
  outcome: 'drained' | 'timed_out' | 'router_unreachable';
  waitedMs: number;
  /** What was still open when the drain ended. */
  inFlight: number;
  websockets: number;
  /** WebSockets the router closed. */
  closedWebsockets: number;
  /** Why the router could not be asked, for `router_unreachable`. */
  error?: string;
}

/** How often the router is asked while waiting. */
const POLL_MS = 50;
/** The least time a router call gets, so a drain of 0 ms still hears a router that answers at once. */
const MIN_CALL_MS = 250;
/** How long closed WebSockets get to finish their closing handshake before the router cuts them. */
export const CLOSING_HANDSHAKE_MS = 1_000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** `promise`, or a rejection once `ms` have passed: a router that hangs must not hold up a stop. */
export function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** What the router's figures say is still open to the target. */
function observe(stats: RouterStatsResponse, target: DrainTarget, elapsedMs: number): DrainObservation {
  if (target.upstreams === undefined) {
    // A router from before WebSocket counts were reported has none to wait on.
    return { elapsedMs, inFlight: stats.inFlight[target.revision] ?? 0, websockets: stats.websockets?.[target.revision] ?? 0 };
  }
  let inFlight = 0;
  let websockets = 0;
  for (const address of target.upstreams) {
    inFlight += stats.upstreams?.[address]?.inFlight ?? 0;
    websockets += stats.upstreams?.[address]?.websockets ?? 0;
  }
  return { elapsedMs, inFlight, websockets };
}

/**
 * Carry out `decideDrain` against the router for up to `drainMs`. Never throws: a router that cannot be
 * asked ends the drain (the stop goes ahead), so an unreachable router delays a stop by at most the drain time.
 */
export async function drainThroughRouter(router: RouterConnections, target: DrainTarget, drainMs: number): Promise<DrainReport> {
  const started = Date.now();
  const elapsed = (): number => Date.now() - started;
  const report = (outcome: DrainReport['outcome'], observation: DrainObservation, closedWebsockets = 0, error?: string): DrainReport => ({
    outcome,
    waitedMs: elapsed(),
    inFlight: observation.inFlight,
    websockets: observation.websockets,
    closedWebsockets,
    ...(error === undefined ? {} : { error }),
  });
  let observation: DrainObservation = { elapsedMs: 0, inFlight: 0, websockets: 0 };
  for (;;) {
    try {
      const stats = await within(router.stats(), Math.max(MIN_CALL_MS, drainMs - elapsed()));
      observation = observe(stats, target, elapsed());
    } catch (error) {
      return report('router_unreachable', observation, 0, errorMessage(error));
    }
    const step = decideDrain(observation, drainMs);
    switch (step.kind) {
      case 'wait':
        await sleep(Math.max(1, Math.min(POLL_MS, drainMs - elapsed())));
        break;
      case 'stop':
        return report(observation.inFlight > 0 ? 'timed_out' : 'drained', observation);
      case 'close_websockets':
        try {
          const closed = await within(router.closeWebsockets({ ...target, waitMs: CLOSING_HANDSHAKE_MS }), CLOSING_HANDSHAKE_MS + MIN_CALL_MS);
          return report('timed_out', observation, closed.closed);
        } catch (error) {
          return report('router_unreachable', observation, 0, errorMessage(error));
        }
    }
  }
}
