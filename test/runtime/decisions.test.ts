import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CRASH_LOOP_EXITS,
  STABLE_HEALTHY_MS,
  buildReplicaEnv,
  decideRestart,
  initialHealth,
  isSameProcessAlive,
  nextHealth,
  parseProcStat,
  processStartTime,
  validateReplicaSpec,
  type HealthState,
} from '../../src/runtime/index.js';
import { describeExit, explainNotHealthy, type NotHealthyFacts } from '../../src/runtime/explain.js';

const thresholds = fc.record({ healthyThreshold: fc.integer({ min: 1, max: 5 }), unhealthyThreshold: fc.integer({ min: 1, max: 5 }) });

/** Length of the run of equal values at the end of `results`. */
function trailingRun(results: boolean[], value: boolean): number {
  let count = 0;
  for (let i = results.length - 1; i >= 0 && results[i] === value; i -= 1) count += 1;
  return count;
}

describe('health state machine', () => {
  it('is healthy exactly when the last transition came from healthyThreshold passes in a row', () => {
    fc.assert(
      fc.property(thresholds, fc.array(fc.boolean(), { maxLength: 60 }), (limits, results) => {
        let state: HealthState = initialHealth();
        const seen: boolean[] = [];
        for (const passed of results) {
          const before = state.phase;
          state = nextHealth(state, passed, limits);
          seen.push(passed);
          if (state.phase === 'healthy' && before !== 'healthy') {
            expect(trailingRun(seen, true)).toBeGreaterThanOrEqual(limits.healthyThreshold);
          }
          if (state.phase === 'unhealthy' && before === 'healthy') {
            expect(trailingRun(seen, false)).toBe(limits.unhealthyThreshold);
          }
          // Never unhealthy without having been healthy first: a replica that never passed is still starting.
          if (!seen.includes(true)) expect(state.phase).toBe('starting');
          // Enough passes in a row always end in healthy; enough failures after healthy always end unhealthy.
          if (trailingRun(seen, true) >= limits.healthyThreshold) expect(state.phase).toBe('healthy');
          if (state.phase !== 'starting' && trailingRun(seen, false) >= limits.unhealthyThreshold) expect(state.phase).toBe('unhealthy');
        }
      }),
    );
  });
});

describe('restart policy', () => {
  const backoff = { initialMs: 500, maxMs: 30_000 };

  it('gives up on the third exit without becoming healthy, and only then', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10 }), fc.nat(20), fc.nat(100_000), (exits, step, healthyForMs) => {
        const decision = decideRestart({ exitsWithoutHealthy: exits, backoffStep: step, healthyForMs }, backoff);
        expect(decision.action === 'give_up').toBe(exits >= CRASH_LOOP_EXITS);
      }),
    );
  });

  it('doubles the delay from initialMs up to maxMs, and starts over after 30 s of health', () => {
    const delays: number[] = [];
    let step = 0;
    for (let i = 0; i < 9; i += 1) {
      const decision = decideRestart({ exitsWithoutHealthy: 1, backoffStep: step, healthyForMs: 1000 }, backoff);
      if (decision.action !== 'restart') throw new Error('expected a restart');
      delays.push(decision.delayMs);
      step = decision.nextBackoffStep;
    }
    expect(delays).toEqual([500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000]);
    expect(decideRestart({ exitsWithoutHealthy: 1, backoffStep: 8, healthyForMs: STABLE_HEALTHY_MS }, backoff)).toEqual({
      action: 'restart',
      delayMs: 500,
      nextBackoffStep: 1,
    });
  });

  it('keeps every delay within [initialMs, maxMs], even after very many restarts', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10_000 }), fc.integer({ min: 0, max: 100_000 }), fc.nat(5000), (initialMs, extra, step) => {
        const decision = decideRestart({ exitsWithoutHealthy: 1, backoffStep: step, healthyForMs: 0 }, { initialMs, maxMs: initialMs + extra });
        if (decision.action !== 'restart') throw new Error('expected a restart');
        expect(decision.delayMs).toBeGreaterThanOrEqual(initialMs);
        expect(decision.delayMs).toBeLessThanOrEqual(initialMs + extra);
      }),
    );
  });
});

describe('/proc/<pid>/stat', () => {
  it('reads the fields whatever the command name holds', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 16 }), fc.integer({ min: 1, max: 4_194_304 }), fc.nat(), (comm, pid, start) => {
        const line = `${pid} (${comm}) S 1 ${pid} ${pid} 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 ${start} 1000 200 18446744073709551615\n`;
        expect(parseProcStat(line)).toEqual({ pid, state: 'S', ppid: 1, pgrp: pid, startTime: String(start) });
      }),
    );
    expect(parseProcStat('garbage')).toBeUndefined();
  });

  it('recognises a live process only with its recorded start time', () => {
    const start = processStartTime(process.pid);
    expect(start).toMatch(/^\d+$/);
    expect(isSameProcessAlive(process.pid, start)).toBe(true);
    expect(isSameProcessAlive(process.pid, String(Number(start) + 1))).toBe(false);
    expect(isSameProcessAlive(4_194_303, undefined)).toBe(false);
  });
});

describe('replica spec', () => {
  const valid = {
    id: 'web-1',
    revisionId: 'rev_1',
    cwd: '/srv/app',
    command: 'exec node server.js',
    env: { NODE_ENV: 'production' },
    health: { path: '/healthz', intervalMs: 1000, timeoutMs: 500, healthyThreshold: 1, unhealthyThreshold: 3 },
  };

  it('accepts a good spec and names every field to fix in a bad one', () => {
    expect(validateReplicaSpec(valid)).toEqual(valid);
    expect(() => validateReplicaSpec({ ...valid, cwd: 'relative/dir', env: { 'BAD-NAME': 'x' } })).toThrow(
      /cwd: must be an absolute path.*env\.BAD-NAME: environment variable names are letters, digits and "_"/,
    );
    expect(() => validateReplicaSpec({ ...valid, health: { ...valid.health, healthyThreshold: 0 } })).toThrow(/health\.healthyThreshold/);
    expect(() => validateReplicaSpec({ ...valid, command: '  ' })).toThrow(/command: must not be empty/);
  });

  it('never puts an env value in a validation message', () => {
    let message = '';
    try {
      validateReplicaSpec({ ...valid, env: { TOKEN: 42 as unknown as string, OTHER: 'hunter2' } });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('env.TOKEN');
    expect(message).not.toContain('hunter2');
  });

  it('builds the environment: a few inherited basics, the app variables, and PORT last', () => {
    const env = buildReplicaEnv({ MODE: 'blue', PORT: '1' }, 4000, { PATH: '/usr/bin', DATABASE_URL: 'postgres://secret', HOME: '/root' });
    expect(env).toEqual({ PATH: '/usr/bin', HOME: '/root', MODE: 'blue', PORT: '4000' });
  });
});

describe('explanations', () => {
  const base: NotHealthyFacts = {
    id: 'web-1',
    port: 4100,
    fixedPort: false,
    state: 'starting',
    restarts: 0,
    exitsWithoutHealthy: 0,
    running: true,
    answered: false,
    waitedMs: 5000,
  };

  it('describes exits by code, signal, and how soon they came', () => {
    expect(describeExit({ code: 1, signal: null, runMs: 40 })).toBe('exited at once with code 1 (40ms after start)');
    expect(describeExit({ code: 2, signal: null, runMs: 12_000 })).toBe('exited with code 2 after 12s');
    // It had answered its health check: it crashed while serving, not while booting.
    expect(describeExit({ code: 3, signal: null, runMs: 400, answered: true })).toBe('exited with code 3 after 400ms');
    expect(describeExit({ code: null, signal: 'SIGKILL', runMs: 3000 })).toBe('was killed by SIGKILL after 3s');
    expect(describeExit({ code: null, signal: null })).toBe('exited (exit code unknown: it was not a child of this agent)');
  });

  it('says what to check for each way of not becoming healthy', () => {
    expect(explainNotHealthy(base)).toBe('replica web-1 never answered on port 4100 within 5s: is the app listening on the port given in $PORT (4100)?');
    expect(explainNotHealthy({ ...base, fixedPort: true })).toContain('is the app listening on port 4100?');
    expect(explainNotHealthy({ ...base, lastProbe: { ok: false, kind: 'timeout', message: 'health check GET /ready did not answer within 500 ms' } })).toBe(
      'health check GET /ready did not answer within 500 ms: replica web-1 on port 4100 was not healthy within 5s',
    );
    expect(explainNotHealthy({ ...base, answered: true, lastProbe: { ok: false, kind: 'refused', message: 'connection refused on port 4100' } })).toBe(
      'replica web-1 stopped answering on port 4100 (connection refused on port 4100)',
    );
    expect(explainNotHealthy({ ...base, running: false, restarts: 1, lastExit: { code: 1, signal: null, runMs: 30 } })).toBe(
      'replica web-1 exited at once with code 1 (30ms after start) and was not healthy within 5s (1 restart so far, the next one is pending)',
    );
    expect(
      explainNotHealthy({ ...base, state: 'crashed', running: false, restarts: 2, exitsWithoutHealthy: 3, lastExit: { code: 1, signal: null, runMs: 30 } }),
    ).toBe('crash loop after 2 restarts: replica web-1 exited at once with code 1 (30ms after start), 3 times in a row without becoming healthy; it is no longer restarted');
  });
});
