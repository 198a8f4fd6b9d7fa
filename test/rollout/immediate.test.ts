import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decideImmediate, type RolloutAction, type RolloutObservation } from '../../src/rollout/index.js';

/** Simulates the world the controller acts on, so the strategy can be driven to its end without processes. */
function simulate(input: { desired: number; hasStable: boolean; release: 'none' | 'pending'; releaseFails: boolean; crashAt?: number }) {
  const observed: RolloutObservation = {
    target: { revisionId: 'rev_new', desiredReplicas: input.desired, startedReplicas: 0, healthyReplicas: 0 },
    ...(input.hasStable ? { stable: { revisionId: 'rev_old', retired: false } } : {}),
    releaseCommand: input.release,
    trafficOnTarget: false,
  };
  const actions: RolloutAction[] = [];
  for (let i = 0; i < 50; i += 1) {
    const action = decideImmediate(observed);
    actions.push(action);
    if (action.kind === 'complete' || action.kind === 'fail') break;
    switch (action.kind) {
      case 'run_release':
        observed.releaseCommand = input.releaseFails ? 'failed' : 'succeeded';
        break;
      case 'start_replicas':
        observed.target.startedReplicas += action.count;
        break;
      case 'await_healthy':
        if (input.crashAt !== undefined) observed.target.failure = 'crash loop';
        else observed.target.healthyReplicas = observed.target.startedReplicas;
        break;
      case 'shift_traffic':
        observed.trafficOnTarget = true;
        break;
      case 'keep_warm':
        observed.stable = { revisionId: action.revisionId, retired: true };
        break;
    }
  }
  return { actions, observed };
}

describe('the immediate strategy', () => {
  it('starts, waits for health, switches, keeps the old revision warm, completes', () => {
    const { actions } = simulate({ desired: 2, hasStable: true, release: 'none', releaseFails: false });
    expect(actions.map((a) => a.kind)).toEqual(['start_replicas', 'await_healthy', 'shift_traffic', 'keep_warm', 'complete']);
    expect(actions[0]).toEqual({ kind: 'start_replicas', revisionId: 'rev_new', count: 2 });
    expect(actions[2]).toEqual({ kind: 'shift_traffic', weights: [{ revisionId: 'rev_new', weight: 100 }] });
  });

  it('runs the release command before any replica starts, and a failed one moves nothing', () => {
    const ok = simulate({ desired: 1, hasStable: true, release: 'pending', releaseFails: false });
    expect(ok.actions[0]!.kind).toBe('run_release');
    const failed = simulate({ desired: 1, hasStable: true, release: 'pending', releaseFails: true });
    expect(failed.actions.map((a) => a.kind)).toEqual(['run_release', 'fail']);
  });

  it('refuses a revision with no replicas instead of switching traffic to nothing', () => {
    const { actions } = simulate({ desired: 0, hasStable: true, release: 'none', releaseFails: false });
    expect(actions.at(-1)!.kind).toBe('fail');
    expect(actions.some((a) => a.kind === 'shift_traffic')).toBe(false);
  });

  it('properties: traffic only moves to a fully healthy revision; a failing one never gets traffic; it always ends', () => {
    fc.assert(
      fc.property(
        fc.record({
          desired: fc.integer({ min: 0, max: 10 }),
          hasStable: fc.boolean(),
          release: fc.constantFrom('none' as const, 'pending' as const),
          releaseFails: fc.boolean(),
          crash: fc.boolean(),
        }),
        (input) => {
          const { actions } = simulate({ ...input, ...(input.crash ? { crashAt: 0 } : {}) });
          const last = actions.at(-1)!;
          expect(['complete', 'fail']).toContain(last.kind);
          const shift = actions.findIndex((a) => a.kind === 'shift_traffic');
          if (shift >= 0) {
            expect(actions.slice(0, shift).some((a) => a.kind === 'await_healthy')).toBe(true);
            expect(input.crash).toBe(false);
            expect(input.desired).toBeGreaterThan(0);
          }
          if (input.release === 'pending' && input.releaseFails) expect(actions.some((a) => a.kind === 'start_replicas')).toBe(false);
          if (last.kind === 'complete') {
            expect(shift).toBeGreaterThanOrEqual(0);
            if (input.hasStable) expect(actions.some((a) => a.kind === 'keep_warm')).toBe(true);
          }
        },
      ),
    );
  });
});
