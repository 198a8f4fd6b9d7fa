// The load side of the benchmarks that send traffic through the router, in its own process so that the
// control plane's work (builds, the embedded database, the API) cannot slow the traffic down or hide a
// failed request.
//
// Open loop: requests leave on a timer at a fixed rate whether or not earlier ones have answered, like
// users do; a keep-alive pool carries them to the router. Every request is recorded (times, status,
// error, version in the body, revision in the body and in the router's header) and the whole timeline
// goes back to the parent over IPC when it sends `stop`.
//
// Started by startLoad in bench/support.ts with `fork(..., { execArgv: ['--import', 'tsx'] })` and one
// message: { type: 'start', port, host, rate, connections } (with `hosts`, requests take the hosts in turn).
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';

export interface LoadStart {
  type: 'start';
  port: number;
  host: string;
  /** Several services at once: requests take these hosts in turn (`host` is then unused). */
  hosts?: string[];
  /** Requests per second, over all hosts. */
  rate: number;
  connections: number;
}

export interface LoadStop {
  type: 'stop';
}

/** One failed request, kept in full (the first few hundred). */
export interface FailureDetail {
  at: number;
  status: number;
  error: string;
  body: string;
}

/** Column-wise, so 30 000 requests cost little to send. Times are epoch milliseconds with fractions. */
export interface LoadReport {
  type: 'report';
  sent: number;
  /** Timer slots given up because the event loop fell far behind (0 on a healthy run). */
  skipped: number;
  /** Requests still unanswered when the worker gave up waiting at the end (also counted as failed). */
  abandoned: number;
  /** The hosts requests were sent to; `host` indexes into it. */
  hosts: string[];
  startedAt: number[];
  endedAt: number[];
  host: number[];
  status: number[];
  /** Index into `versions`; -1 when the body named no version (an error page or a failure). */
  version: number[];
  versions: string[];
  /** Index into `outcomes`: "ok", "status 502", "error UND_ERR_SOCKET", ... */
  outcome: number[];
  outcomes: string[];
  /** Answers whose body revision differs from the router's x-maestro-revision header: a wrong upstream. */
  mismatched: number;
  failures: FailureDetail[];
}

/** One clock for both processes: epoch milliseconds with sub-millisecond resolution. */
export const now = (): number => performance.timeOrigin + performance.now();

const BODY_PATTERN = /version=(\S+) revision=(\S+)/;
const REQUEST_TIMEOUT_MS = 10_000;
const TICK_MS = 2;
/** A stalled event loop does not come back with a burst bigger than this; the rest is counted as skipped. */
const MAX_BURST = 20;
const MAX_FAILURE_DETAILS = 200;

function interned(list: string[], index: Map<string, number>, value: string): number {
  let id = index.get(value);
  if (id === undefined) {
    id = list.length;
    list.push(value);
    index.set(value, id);
  }
  return id;
}

function run(config: LoadStart): void {
  const pool = new Pool(`http://127.0.0.1:${config.port}`, {
    connections: config.connections,
    pipelining: 1,
    headersTimeout: REQUEST_TIMEOUT_MS,
    bodyTimeout: REQUEST_TIMEOUT_MS,
  });
  const hosts = config.hosts && config.hosts.length > 0 ? config.hosts : [config.host];
  const report: LoadReport = {
    type: 'report',
    sent: 0,
    skipped: 0,
    abandoned: 0,
    hosts,
    startedAt: [],
    endedAt: [],
    host: [],
    status: [],
    version: [],
    versions: [],
    outcome: [],
    outcomes: [],
    mismatched: 0,
    failures: [],
  };
  const versionIndex = new Map<string, number>();
  const outcomeIndex = new Map<string, number>();
  const inFlight = new Set<Promise<void>>();

  const record = (startedAt: number, host: number, status: number, version: string | undefined, outcome: string, body: string): void => {
    const endedAt = now();
    report.startedAt.push(startedAt);
    report.endedAt.push(endedAt);
    report.host.push(host);
    report.status.push(status);
    report.version.push(version === undefined ? -1 : interned(report.versions, versionIndex, version));
    report.outcome.push(interned(report.outcomes, outcomeIndex, outcome));
    if (outcome !== 'ok' && report.failures.length < MAX_FAILURE_DETAILS) {
      // The router's error pages are HTML: keep their words, which say why (no healthy replica, reset, ...).
      const text = body.replace(/<(style|script)[\s\S]*?<\/\1>/g, '').replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim();
      report.failures.push({ at: endedAt, status, error: outcome, body: text.slice(0, 300) });
    }
  };

  const send = (): void => {
    const startedAt = now();
    const host = report.sent % hosts.length;
    report.sent += 1;
    const task = (async () => {
      try {
        const response = await pool.request({ method: 'GET', path: '/', headers: { host: hosts[host]! } });
        const body = await response.body.text();
        const match = BODY_PATTERN.exec(body);
        const header = response.headers['x-maestro-revision'];
        if (match && typeof header === 'string' && header !== match[2]) report.mismatched += 1;
        const ok = response.statusCode === 200 && match !== null;
        record(startedAt, host, response.statusCode, match?.[1], ok ? 'ok' : `status ${response.statusCode}`, body);
      } catch (error) {
        const code = (error as { code?: string }).code ?? (error as Error).name;
        record(startedAt, host, 0, undefined, `error ${code}`, (error as Error).message);
      }
    })();
    inFlight.add(task);
    void task.finally(() => inFlight.delete(task));
  };

  // Pace on elapsed time, not on tick count: timers drift on a busy machine, the rate must not.
  const origin = performance.now();
  const timer = setInterval(() => {
    const due = Math.floor(((performance.now() - origin) * config.rate) / 1000);
    let missing = due - report.sent - report.skipped;
    if (missing > MAX_BURST) {
      report.skipped += missing - MAX_BURST;
      missing = MAX_BURST;
    }
    for (let i = 0; i < missing; i += 1) send();
  }, TICK_MS);

  process.on('message', (message: LoadStop) => {
    if (message.type !== 'stop') return;
    clearInterval(timer);
    void (async () => {
      const settled = Promise.allSettled([...inFlight]);
      const deadline = new Promise((resolve) => setTimeout(resolve, REQUEST_TIMEOUT_MS + 1_000).unref());
      await Promise.race([settled, deadline]);
      report.abandoned = inFlight.size;
      process.send!(report, () => {
        void pool.destroy().finally(() => process.exit(0));
      });
    })();
  });
  process.send!({ type: 'started' });
}

if (process.send === undefined) {
  console.error('bench/load-worker.ts is started by startLoad in bench/support.ts over IPC (child_process.fork)');
  process.exit(2);
}
process.once('message', (message: LoadStart) => {
  if (message.type !== 'start') throw new Error(`expected a start message, got ${JSON.stringify(message)}`);
  run(message);
});
// The parent died without saying stop: do not linger.
process.on('disconnect', () => process.exit(0));
