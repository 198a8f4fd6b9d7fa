import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { EventBus, OutboxSender, outcomeIfStopped, type OutboxSenderOptions } from '../../src/events/index.js';
import type { DeliveryOutcome } from '../../src/store/index.js';

/** Long enough that only wakes, finishes and retry timers can move the sender within a test. */
const NEVER_POLLS = 60 * 60_000;

interface Row {
  id: string;
  attempts: number;
}

/** An outbox held in memory, leasing and recording the way the store does, and keeping count. */
class MemoryOutbox {
  private readonly rows = new Map<string, { row: Row; dueAt: number; leased: boolean }>();
  readonly limits: number[] = [];
  readonly recorded: Array<{ id: string; outcome: DeliveryOutcome }> = [];
  claimsRunning = 0;
  mostClaimsAtOnce = 0;
  /** When set, each claim waits for it. */
  gate: Promise<void> | undefined;

  constructor(ids: string[]) {
    for (const id of ids) this.rows.set(id, { row: { id, attempts: 0 }, dueAt: 0, leased: false });
  }

  async claimDue(limit: number): Promise<Row[]> {
    this.limits.push(limit);
    this.claimsRunning += 1;
    this.mostClaimsAtOnce = Math.max(this.mostClaimsAtOnce, this.claimsRunning);
    try {
      await this.gate;
      const due = [...this.rows.values()].filter((r) => !r.leased && r.dueAt <= Date.now()).slice(0, limit);
      for (const r of due) {
        r.leased = true;
        r.row.attempts += 1;
      }
      return due.map((r) => ({ ...r.row }));
    } finally {
      this.claimsRunning -= 1;
    }
  }

  async record(row: Row, outcome: DeliveryOutcome): Promise<boolean> {
    await Promise.resolve();
    this.recorded.push({ id: row.id, outcome });
    const held = this.rows.get(row.id);
    if (!held) return false;
    if (outcome.status === 'pending') Object.assign(held, { leased: false, dueAt: Date.now() + outcome.retryInMs });
    else this.rows.delete(row.id);
    return true;
  }
}

function capturingLogger() {
  const lines: Array<{ msg: string; level: number } & Record<string, unknown>> = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => lines.push(JSON.parse(line) as (typeof lines)[number]) });
  return { logger, lines };
}

const WORDING = {
  claimFailed: 'claim failed',
  sendFailed: 'send failed',
  leaseLost: 'lease lost',
  recordFailed: 'record failed',
  sent: 'sent',
  dead: 'dead',
  retrying: 'retrying',
};

const started: Array<OutboxSender<Row>> = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.stop()));
});

function startSender(outbox: MemoryOutbox, options: Partial<OutboxSenderOptions<Row>> & Pick<OutboxSenderOptions<Row>, 'send'>): OutboxSender<Row> {
  const sender = new OutboxSender<Row>({
    logger: pino({ level: 'silent' }),
    pollIntervalMs: NEVER_POLLS,
    maxInFlight: 8,
    claimDue: (limit) => outbox.claimDue(limit),
    record: (row, outcome) => outbox.record(row, outcome),
    describe: (row) => ({ row: row.id, attempt: row.attempts }),
    wording: WORDING,
    ...options,
  });
  started.push(sender);
  sender.start();
  return sender;
}

function released(): { promise: Promise<void>; release: () => void } {
  let release!: () => void;
  const promise = new Promise<void>((resolve) => (release = resolve));
  return { promise, release };
}

const succeeded: DeliveryOutcome = { status: 'succeeded', statusCode: 200 };

describe('OutboxSender', () => {
  it('folds wakes that come while a claim runs into one more claim, never two claims at once', async () => {
    const outbox = new MemoryOutbox([]);
    const gate = released();
    outbox.gate = gate.promise;
    const sender = startSender(outbox, { send: async () => succeeded });
    await expect.poll(() => outbox.limits.length).toBe(1);
    for (let i = 0; i < 20; i += 1) sender.wake();
    gate.release();
    await sleep(100);
    expect(outbox.limits).toHaveLength(2);
    expect(outbox.mostClaimsAtOnce).toBe(1);
  });

  it('keeps at most maxInFlight rows in flight, claims only what fits, and each finish makes room for the next', async () => {
    const outbox = new MemoryOutbox(['a', 'b', 'c', 'd', 'e']);
    const holds: Array<() => void> = [];
    let inFlight = 0;
    let mostInFlight = 0;
    const sender = startSender(outbox, {
      maxInFlight: 2,
      send: async (_row, signal) => {
        inFlight += 1;
        mostInFlight = Math.max(mostInFlight, inFlight);
        const held = released();
        holds.push(held.release);
        signal.addEventListener('abort', held.release, { once: true });
        await held.promise;
        inFlight -= 1;
        return succeeded;
      },
    });
    await expect.poll(() => holds.length).toBe(2);
    await sleep(100);
    expect(holds).toHaveLength(2);
    expect(sender.busy).toBe(2);
    for (let answered = 0; answered < 5; answered += 1) {
      await expect.poll(() => holds.length).toBe(answered + 2 > 5 ? 5 : answered + 2);
      holds[answered]!();
    }
    await expect.poll(() => outbox.recorded.length).toBe(5);
    expect(mostInFlight).toBe(2);
    expect(Math.max(...outbox.limits)).toBeLessThanOrEqual(2);
    expect(outbox.recorded.map((r) => r.id).sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
    await expect.poll(() => sender.busy).toBe(0);
  });

  it('sends a row again when its retry falls due, with no poll to find it', async () => {
    const outbox = new MemoryOutbox(['flaky']);
    const attemptsAt: number[] = [];
    startSender(outbox, {
      send: async (row) => {
        attemptsAt.push(performance.now());
        return row.attempts === 1 ? { status: 'pending', retryInMs: 200, error: 'the receiver answered 503' } : succeeded;
      },
    });
    await expect.poll(() => outbox.recorded.map((r) => r.outcome.status)).toEqual(['pending', 'succeeded']);
    const [first = 0, second = 0] = attemptsAt;
    expect(second - first).toBeGreaterThanOrEqual(190);
    expect(second - first).toBeLessThan(2000);
  });

  it('stop() aborts sends in flight and returns only once their outcomes are recorded', async () => {
    const outbox = new MemoryOutbox(['slow-1', 'slow-2']);
    const signals: AbortSignal[] = [];
    const sender = startSender(outbox, {
      send: async (_row, signal) => {
        signals.push(signal);
        await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
        await sleep(100); // an outcome that takes a while to settle after the abort
        return outcomeIfStopped(signal, { error: 'stopped before an answer came' }) ?? succeeded;
      },
    });
    await expect.poll(() => sender.busy).toBe(2);
    await sender.stop();
    expect(signals.every((signal) => signal.aborted)).toBe(true);
    expect(sender.busy).toBe(0);
    expect(outbox.recorded.map((r) => r.outcome)).toEqual([
      { status: 'pending', retryInMs: 0, error: 'stopped before an answer came' },
      { status: 'pending', retryInMs: 0, error: 'stopped before an answer came' },
    ]);
    // Stopped for good: the rows are due again, but nothing claims them.
    const claims = outbox.limits.length;
    sender.wake();
    await sleep(50);
    expect(outbox.limits).toHaveLength(claims);
  });

  it('listens to its wake source only while running', async () => {
    const outbox = new MemoryOutbox([]);
    const bus = new EventBus();
    const sender = startSender(outbox, { send: async () => succeeded, wakeOn: (wake) => bus.onDeliveriesDue(wake) });
    await expect.poll(() => outbox.limits.length).toBe(1);
    bus.deliveriesDue();
    await expect.poll(() => outbox.limits.length).toBe(2);
    await sender.stop();
    bus.deliveriesDue();
    await sleep(50);
    expect(outbox.limits).toHaveLength(2);
  });

  it('logs what went wrong in its user\'s words and keeps going: a failed claim, a send that throws, a lost lease, a dead row', async () => {
    const outbox = new MemoryOutbox(['throws', 'lost', 'dead']);
    const { logger, lines } = capturingLogger();
    let claims = 0;
    const sender = startSender(outbox, {
      logger,
      claimDue: (limit) => (++claims === 1 ? Promise.reject(new Error('connection refused')) : outbox.claimDue(limit)),
      send: async (row) => {
        if (row.id === 'throws') throw new Error('no request could be built');
        return row.id === 'dead' ? { status: 'dead', error: 'gave up' } : succeeded;
      },
      record: async (row, outcome) => (row.id === 'lost' ? false : outbox.record(row, outcome)),
    });
    await expect.poll(() => lines.find((l) => l.msg === 'claim failed')).toMatchObject({ err: 'connection refused' });
    sender.wake();
    await expect.poll(() => lines.map((l) => l.msg).sort()).toEqual(['claim failed', 'dead', 'lease lost', 'send failed']);
    expect(lines.find((l) => l.msg === 'send failed')).toMatchObject({ row: 'throws', err: 'no request could be built' });
    expect(lines.find((l) => l.msg === 'lease lost')).toMatchObject({ row: 'lost', attempt: 1 });
    expect(lines.find((l) => l.msg === 'dead')).toMatchObject({ row: 'dead', error: 'gave up' });
    expect(sender.busy).toBe(0);
  });

  it('refuses a maxInFlight or poll interval it could not run with', () => {
    const base = { logger: pino({ level: 'silent' }), claimDue: async () => [], send: async () => succeeded, record: async () => true, describe: () => ({}), wording: WORDING };
    expect(() => new OutboxSender({ ...base, pollIntervalMs: 1000, maxInFlight: 0 })).toThrow('maxInFlight must be a whole number of 1 or more, got 0');
    expect(() => new OutboxSender({ ...base, pollIntervalMs: Number.NaN, maxInFlight: 8 })).toThrow('pollIntervalMs must be a number of milliseconds above 0, got NaN');
  });
});

describe('outcomeIfStopped', () => {
  it('requeues only an attempt that stop() cut off before any answer', () => {
    const stopped = AbortSignal.abort();
    expect(outcomeIfStopped(stopped, { error: 'cut off' })).toEqual({ status: 'pending', retryInMs: 0, error: 'cut off' });
    expect(outcomeIfStopped(stopped, { statusCode: 500 })).toBeUndefined();
    expect(outcomeIfStopped(new AbortController().signal, { error: 'ECONNREFUSED' })).toBeUndefined();
  });
});
