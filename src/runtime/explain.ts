import { formatDuration } from '../common/index.js';
import type { ProbeResult } from './probe.js';
import type { ReplicaState } from './types.js';

/** An exit as the agent saw it; runMs is unknown for adopted processes that died unobserved. */
export interface ExitFacts {
  code: number | null;
  signal: string | null;
  runMs?: number;
  /** Whether the process had passed a health probe: then it did not die booting, however soon it exited. */
  answered?: boolean;
}

/**
 * Below this a process "exited at once": it died while booting (a missing setting, a bad import), not
 * after serving. Generous because a busy machine can take seconds just to start a runtime.
 */
const AT_ONCE_MS = 5000;

export function describeExit(exit: ExitFacts): string {
  const after = exit.runMs === undefined ? '' : ` after ${formatDuration(exit.runMs)}`;
  if (exit.signal !== null) return `was killed by ${exit.signal}${after}`;
  if (exit.code === null) return `exited${after} (exit code unknown: it was not a child of this agent)`;
  if (exit.runMs !== undefined && exit.runMs < AT_ONCE_MS && !exit.answered) {
    return `exited at once with code ${exit.code} (${formatDuration(exit.runMs)} after start)`;
  }
  return `exited with code ${exit.code}${after}`;
}

export interface NotHealthyFacts {
  id: string;
  port: number;
  fixedPort: boolean;
  state: ReplicaState;
  restarts: number;
  exitsWithoutHealthy: number;
  /** Whether a process is running right now (false while a restart is pending or after a crash loop). */
  running: boolean;
  lastExit?: ExitFacts;
  lastProbe?: ProbeResult;
  /** Whether any probe of the current process passed. */
  answered: boolean;
  waitedMs?: number;
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

/** Why a replica is not healthy, in words a person can act on. */
export function explainNotHealthy(facts: NotHealthyFacts): string {
  const within = facts.waitedMs === undefined ? '' : ` within ${formatDuration(facts.waitedMs)}`;
  const replica = `replica ${facts.id}`;
  if (facts.state === 'crashed') {
    const exit = facts.lastExit ? describeExit(facts.lastExit) : 'exited';
    return (
      `crash loop after ${plural(facts.restarts, 'restart')}: ${replica} ${exit}, ` +
      `${plural(facts.exitsWithoutHealthy, 'time')} in a row without becoming healthy; it is no longer restarted`
    );
  }
  if (!facts.running && facts.lastExit) {
    return `${replica} ${describeExit(facts.lastExit)} and was not healthy${within} (${plural(facts.restarts, 'restart')} so far, the next one is pending)`;
  }
  const probe = facts.lastProbe;
  if (probe && !probe.ok && (probe.kind === 'status' || probe.kind === 'timeout')) {
    const expected = probe.kind === 'status' ? ' (expected 2xx or 3xx)' : '';
    return `${probe.message}${expected}: ${replica} on port ${facts.port} was not healthy${within}`;
  }
  if (facts.answered) {
    return `${replica} stopped answering on port ${facts.port}${probe && !probe.ok ? ` (${probe.message})` : ''}`;
  }
  const where = facts.fixedPort ? `port ${facts.port}` : `the port given in $PORT (${facts.port})`;
  return `${replica} never answered on port ${facts.port}${within}: is the app listening on ${where}?`;
}
