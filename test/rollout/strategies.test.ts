import { describe, expect, it } from 'vitest';
import { strategies } from '../../src/rollout/index.js';
import { kinds, strategyOf, World } from './strategies-world.js';

describe('immediate', () => {
  it('starts, waits for health, switches all traffic, keeps the old revision warm, completes', () => {
    const world = new World(strategyOf('immediate'));
    expect(world.run().kind).toBe('complete');
    expect(kinds(world)).toEqual(['start_replicas', 'await_healthy', 'set_weights', 'keep_warm', 'complete']);
    expect(world.observed.appliedWeights).toEqual([{ revisionId: 'rev_new', weight: 100 }]);
  });

  it('runs the release command first; a failed one fails before anything starts', () => {
    const world = new World(strategyOf('immediate'), { release: 'pending', releaseFails: true });
    expect(world.run()).toEqual({ kind: 'fail', reason: 'migration failed: relation "users" already exists' });
    expect(kinds(world)).toEqual(['run_release', 'fail']);
  });

  it('fails a target that never becomes healthy, without moving traffic', () => {
    const world = new World(strategyOf('immediate'), { targetCrashes: true });
    expect(world.run().kind).toBe('fail');
    expect(world.weightOf('rev_old')).toBe(100);
  });

  it('keeps answering the same end once finished', () => {
    const world = new World(strategyOf('immediate'));
    const end = world.run();
    expect(world.decide()).toEqual(end);
  });
});

describe('canary', () => {
  const canary = strategyOf({
    type: 'canary',
    steps: [{ weight: 10 }, { pause: '30s' }, { weight: 50 }, { pause: '30s' }],
    watch: '60s',
  });

  it('10% -> pause 30s -> 50% -> pause 30s -> 100% -> watch -> complete', () => {
    const world = new World(canary);
    const start = world.observed.now;
    expect(world.run().kind).toBe('complete');
    const weights = world.steps.flatMap((s) => (s.action.kind === 'set_weights' ? [s.action.weights] : []));
    expect(weights).toEqual([
      [
        { revisionId: 'rev_new', weight: 10 },
        { revisionId: 'rev_old', weight: 90 },
      ],
      [
        { revisionId: 'rev_new', weight: 50 },
        { revisionId: 'rev_old', weight: 50 },
      ],
      [{ revisionId: 'rev_new', weight: 100 }],
    ]);
    const analysis = world.steps.find((s) => s.action.kind === 'start_analysis')!.action;
    expect(analysis).toMatchObject({ compareWith: 'rev_old', minRequests: 50, intervalMs: 1000, checks: [{ metric: 'error_rate', max: '1%' }] });
    expect(kinds(world).slice(-3)).toEqual(['stop_analysis', 'keep_warm', 'complete']);
    // Two 30 s pauses and a 60 s watch, not sooner.
    const at = (weight: number) => world.steps.find((s) => s.action.kind === 'set_weights' && s.action.weights[0]!.weight === weight)!.observed.now;
    expect(at(50) - at(10)).toBeGreaterThanOrEqual(30_000);
    expect(at(100) - at(50)).toBeGreaterThanOrEqual(30_000);
    expect(world.observed.now - at(100)).toBeGreaterThanOrEqual(60_000);
    expect(world.observed.now - start).toBeLessThan(3 * 60_000);
  });

  it('rolls back at 10% on a failing verdict, with its figures', () => {
    const world = new World(canary);
    world.run(50, (a) => a.kind === 'set_weights');
    expect(world.weightOf('rev_new')).toBe(10);
    world.verdict('fail', 'error_rate 7.5% > 1%', { error_rate: 0.075, requests: 400 });
    const first = world.decide();
    expect(first).toMatchObject({ kind: 'set_weights', weights: [{ revisionId: 'rev_old', weight: 100 }] });
    expect(world.decide()).toEqual({ kind: 'rollback', reason: 'analysis failed: error_rate 7.5% > 1%', figures: { error_rate: 0.075, requests: 400 } });
    expect(world.state.phase).toBe('rolled_back');
  });

  it('failure_limit: below it a failing verdict holds, at it the rollout rolls back', () => {
    const world = new World(canary);
    world.state = { ...world.state, limits: { ...world.state.limits, failureLimit: 2 } };
    world.run(50, (a) => a.kind === 'set_weights');
    world.verdict('fail', 'latency_p99 900ms > 500ms');
    world.advance(40_000);
    expect(world.decide().kind).toBe('wait');
    expect(world.weightOf('rev_new')).toBe(10);
    world.advance(1000);
    world.verdict('fail', 'latency_p99 950ms > 500ms');
    expect(world.run(5).kind).toBe('rollback');
  });

  it('inconclusive verdicts hold the weight, then pause with an alert; promote goes on', () => {
    const world = new World(canary);
    world.run(50, (a) => a.kind === 'set_weights');
    const step = world.state.step;
    for (let i = 0; i < 4; i += 1) {
      world.verdict('inconclusive', 'only 3 of 50 requests');
      const action = world.decide();
      expect(['wait', 'pause']).toContain(action.kind);
      expect(world.weightOf('rev_new')).toBe(10);
      world.advance(11_000);
    }
    const pause = world.steps.find((s) => s.action.kind === 'pause');
    expect(pause?.action).toMatchObject({ reason: expect.stringContaining('analysis inconclusive') });
    expect(world.state.step).toBe(step);
    world.observed.requests.promote = true;
    world.decide();
    expect(world.observed.requests.promote).toBe(false);
    expect(world.run().kind).toBe('complete');
  });

  it('a pause {} waits for maestro promote, with no deadline; promote moves on', () => {
    const world = new World(strategyOf({ type: 'canary', steps: [{ weight: 20 }, { pause: {} }, { weight: 60 }], watch: '0s' }));
    expect(world.run()).toEqual({ kind: 'pause', reason: 'canary step 2/3: waiting for maestro promote at 20%' });
    world.advance(3_600_000);
    expect(world.decide().kind).toBe('wait');
    world.observed.requests.promote = true;
    expect(world.decide()).toMatchObject({ kind: 'set_weights', weights: [{ revisionId: 'rev_new', weight: 60 }, { revisionId: 'rev_old', weight: 40 }] });
    expect(world.run().kind).toBe('complete');
  });

  it('promote --full skips every remaining step', () => {
    const world = new World(canary);
    world.run(50, (a) => a.kind === 'set_weights');
    world.observed.requests.fullPromote = true;
    expect(world.decide()).toMatchObject({ kind: 'set_weights', weights: [{ revisionId: 'rev_new', weight: 100 }] });
    expect(world.observed.requests.fullPromote).toBe(false);
    expect(world.run().kind).toBe('complete');
  });

  it('an analysis step waits for a pass over at least its duration', () => {
    const world = new World(strategyOf({ type: 'canary', steps: [{ weight: 25 }, { analysis: { duration: '20s', min_requests: 10 } }], watch: '0s' }));
    const started = world.run(50, (a) => a.kind === 'start_analysis' && world.state.analysis?.purpose === 'step');
    expect(started).toMatchObject({ minRequests: 10 });
    const stepStarted = world.state.analysis!.startedAt;
    world.advance(1000);
    world.observed.analysis = { outcome: 'pass', reason: 'ok', at: world.observed.now, requests: 40 };
    expect(world.decide()).toMatchObject({ kind: 'wait', untilMs: stepStarted + 20_000 });
    // A pass on fewer requests than min_requests holds like an inconclusive verdict.
    world.observed.analysis = { outcome: 'pass', reason: 'ok', at: world.observed.now, requests: 4 };
    expect(world.decide()).toMatchObject({ kind: 'wait', reason: expect.stringContaining('only 4 of 10 requests') });
    world.advance(1);
    world.observed.analysis = { outcome: 'pass', reason: 'ok', at: world.observed.now, requests: 40 };
    expect(world.run().kind).toBe('complete');
    const set100 = world.steps.find((s) => s.action.kind === 'set_weights' && s.action.weights[0]!.weight === 100)!;
    expect(set100.observed.now).toBeGreaterThanOrEqual(world.steps.find((s) => s.action === started)!.observed.now + 20_000);
  });

  it('a failing verdict during the watch rolls back', () => {
    const world = new World(canary);
    world.run(100, () => world.state.phase === 'watching');
    world.verdict('fail', 'error_rate 3% > 1%');
    expect(world.run(5).kind).toBe('rollback');
    expect(world.weightOf('rev_old')).toBe(100);
  });

  it('a first deploy goes straight to 100% like immediate', () => {
    const world = new World(canary, { hasStable: false });
    expect(world.run().kind).toBe('complete');
    expect(kinds(world)).toEqual(['start_replicas', 'await_healthy', 'set_weights', 'complete']);
  });

  it('describes its state for rollout status', () => {
    const world = new World(canary);
    world.run(50, (a) => a.kind === 'set_weights');
    world.decide();
    const description = strategies.describeState(canary, world.state);
    expect(description).toMatchObject({ phase: 'stepping', step: 2, steps: 4, targetWeight: 10 });
  });
});

describe('blue_green', () => {
  it('previews with no traffic, waits for maestro promote, switches in one step, keeps the old one warm for scale_down_delay', () => {
    const world = new World(strategyOf({ type: 'blue_green', scale_down_delay: '45s' }), { desired: 3 });
    expect(world.run()).toEqual({ kind: 'pause', reason: 'waiting for maestro promote' });
    expect(world.weightOf('rev_old')).toBe(100);
    expect(world.observed.target.healthyReplicas).toBe(3);
    world.advance(3_600_000);
    expect(world.decide().kind).toBe('wait');
    world.observed.requests.promote = true;
    expect(world.run().kind).toBe('complete');
    const tail = world.steps.slice(-3).map((s) => s.action);
    expect(tail).toEqual([
      { kind: 'set_weights', weights: [{ revisionId: 'rev_new', weight: 100 }], reason: expect.any(String) },
      { kind: 'keep_warm', revisionId: 'rev_old', forMs: 45_000 },
      { kind: 'complete', summary: expect.any(String) },
    ]);
  });

  it('auto promotes auto_promote_after the target is healthy', () => {
    const world = new World(strategyOf({ type: 'blue_green', auto_promote_after: '2m' }));
    expect(world.run().kind).toBe('complete');
    const healthyAt = world.state.healthyAt!;
    const switched = world.steps.find((s) => s.action.kind === 'set_weights')!;
    expect(switched.observed.now).toBeGreaterThanOrEqual(healthyAt + 120_000);
  });

  it('abort while previewing keeps the stable revision', () => {
    const world = new World(strategyOf('blue_green'));
    world.run();
    world.observed.requests.abort = true;
    expect(world.decide()).toEqual({ kind: 'rollback', reason: 'aborted with maestro abort' });
    expect(world.weightOf('rev_old')).toBe(100);
  });
});

describe('rolling', () => {
  it('4 replicas, surge 1, unavailable 0: never fewer than 4 healthy serving, traffic follows healthy replicas', () => {
    const world = new World(strategyOf({ type: 'rolling', max_surge: 1, max_unavailable: 0 }), { desired: 4 });
    for (let i = 0; i < 100 && !world.state.result; i += 1) {
      world.decide();
      const { target, stable } = world.observed;
      const serving = (world.weightOf('rev_new') > 0 ? target.healthyReplicas : 0) + (world.weightOf('rev_old') > 0 ? stable!.healthyReplicas : 0);
      expect(serving).toBeGreaterThanOrEqual(4);
      expect(target.startedReplicas + stable!.startedReplicas).toBeLessThanOrEqual(5);
    }
    expect(world.last?.kind).toBe('complete');
    const weights = world.steps.flatMap((s) => (s.action.kind === 'set_weights' ? [s.action.weights[0]] : []));
    expect(weights).toEqual([
      { revisionId: 'rev_new', weight: 20 },
      { revisionId: 'rev_new', weight: 25 },
      { revisionId: 'rev_new', weight: 40 },
      { revisionId: 'rev_new', weight: 50 },
      { revisionId: 'rev_new', weight: 60 },
      { revisionId: 'rev_new', weight: 75 },
      { revisionId: 'rev_new', weight: 100 },
    ]);
    expect(world.steps.filter((s) => s.action.kind === 'start_replicas').every((s) => s.action.kind === 'start_replicas' && s.action.count === 1)).toBe(true);
    expect(kinds(world).slice(-2)).toEqual(['keep_warm', 'complete']);
    expect(world.observed.stable!.startedReplicas).toBe(1);
  });

  it('unavailable 25%, surge 0: stops before it starts, and finishes', () => {
    const world = new World(strategyOf({ type: 'rolling', max_surge: 0, max_unavailable: '25%' }), { desired: 4 });
    expect(world.run().kind).toBe('complete');
    expect(kinds(world)[0]).toBe('stop_replicas');
    expect(world.observed.target.healthyReplicas).toBe(4);
  });

  it('rounds percentages like Kubernetes: surge up, unavailable down', () => {
    expect(strategies.rollingBudget(strategyOf({ type: 'rolling', max_surge: '25%', max_unavailable: '25%' }) as never, 10)).toEqual({ surge: 3, unavailable: 2 });
    expect(strategies.rollingBudget(strategyOf({ type: 'rolling', max_surge: '10%', max_unavailable: '0%' }) as never, 30)).toEqual({ surge: 3, unavailable: 0 });
  });

  it('a target that crashes after taking traffic rolls back', () => {
    const world = new World(strategyOf('rolling'), { desired: 3 });
    world.run(100, () => world.weightOf('rev_new') > 0);
    world.observed.target.failure = 'replica exited with code 1 three times';
    expect(world.run(5)).toEqual({ kind: 'rollback', reason: 'replica exited with code 1 three times' });
    expect(world.weightOf('rev_old')).toBe(100);
  });
});

describe('the progress deadline', () => {
  it('pauses with an alert when a rollout is stuck with nothing failing', () => {
    const world = new World(strategyOf('immediate'), { deadlineMs: 60_000 });
    world.decide();
    world.observed.target.startedReplicas = 2; // started, never healthy, no failure reported
    world.advance(61_000);
    expect(world.decide()).toMatchObject({ kind: 'pause', reason: expect.stringContaining('no progress within') });
  });

  it('rolls back when analysis was inconclusive at the deadline', () => {
    const world = new World(strategyOf({ type: 'canary', steps: [{ weight: 10 }, { pause: '5m' }] }), { deadlineMs: 120_000 });
    world.run(50, (a) => a.kind === 'set_weights');
    world.verdict('inconclusive', 'only 2 of 50 requests');
    world.state = { ...world.state, limits: { ...world.state.limits, inconclusiveLimit: 1000 } };
    world.advance(130_000);
    expect(world.run(5)).toMatchObject({ kind: 'rollback', reason: expect.stringContaining('inconclusive') });
  });
});

describe('webhook gates', () => {
  const GATE = 'https://ci.example.com/maestro-gate';
  const gated = (on: string[], extra: Record<string, unknown> = {}) =>
    strategyOf({
      type: 'canary',
      steps: [{ weight: 10 }, { pause: '30s' }, { weight: 50 }],
      watch: '0s',
      gates: [{ webhook: GATE, on, timeout: '10s' }],
      ...extra,
    });
  const calls = (world: World) => world.gateCalls.map((call) => [call.stage, call.currentWeight, call.nextWeight]);

  it('asks every gate before the rollout, before each weight increase and before promotion, with the weights', () => {
    const world = new World(gated(['before_rollout', 'before_weight_increase', 'before_promotion']));
    expect(world.run().kind).toBe('complete');
    expect(calls(world)).toEqual([
      ['before_rollout', 0, 0],
      ['before_weight_increase', 0, 10],
      ['before_weight_increase', 10, 50],
      ['before_promotion', 50, 100],
    ]);
    expect(kinds(world).slice(0, 2)).toEqual(['run_gate', 'start_replicas']);
    expect(world.gateCalls[0]).toMatchObject({ webhook: GATE, timeoutMs: 10_000 });
    // Each weight change comes right after its gate passed.
    const order = kinds(world).filter((kind) => kind === 'run_gate' || kind === 'set_weights');
    expect(order).toEqual(['run_gate', 'run_gate', 'set_weights', 'run_gate', 'set_weights', 'run_gate', 'set_weights']);
    expect(world.state.gates.map((record) => record.outcome)).toEqual(['pass', 'pass', 'pass', 'pass']);
  });

  it('a gate answering 503 before raising the weight rolls the canary back with the reason', () => {
    const world = new World(gated(['before_weight_increase']), { gate: (n) => (n === 1 ? 'fail' : 'pass') });
    expect(world.run()).toEqual({ kind: 'rollback', reason: `gate ${GATE} answered 503 before raising canary weight to 50%` });
    expect(world.weightOf('rev_old')).toBe(100);
    expect(world.steps.filter((s) => s.action.kind === 'set_weights').map((s) => world.steps.indexOf(s))).toHaveLength(2);
    expect(strategies.describeState(world.strategy, world.state).gates).toEqual([
      { stage: 'before_weight_increase', webhook: GATE, nextWeight: 10, outcome: 'pass', reason: 'answered 200 before raising canary weight to 10%', at: expect.any(String) },
      { stage: 'before_weight_increase', webhook: GATE, nextWeight: 50, outcome: 'fail', reason: 'answered 503 before raising canary weight to 50%', at: expect.any(String) },
    ]);
  });

  it('a refusal before the rollout fails it before anything starts; the stable revision keeps all traffic', () => {
    const world = new World(strategyOf({ type: 'rolling', gates: [{ webhook: GATE, on: ['before_rollout'] }] }), { release: 'pending', gate: () => 'fail' });
    expect(world.run()).toEqual({ kind: 'fail', reason: `gate ${GATE} answered 503 before the rollout` });
    expect(kinds(world)).toEqual(['run_gate', 'fail']);
    expect(world.weightOf('rev_old')).toBe(100);
  });

  it('holds while the gate thinks, and asks again when an answer was lost (a restart)', () => {
    const world = new World(gated(['before_rollout']), { gate: (n) => (n === 0 ? 'lost' : 'pass') });
    const first = world.decide();
    expect(first).toMatchObject({ kind: 'run_gate', gate: { stage: 'before_rollout' } });
    const waiting = world.decide();
    expect(waiting).toMatchObject({ kind: 'wait', untilMs: world.steps[0]!.observed.now + 10_000 + strategies.GATE_LOST_AFTER_MS, reason: `waiting for gate ${GATE} before the rollout` });
    expect(strategies.describeState(world.strategy, world.state).gates).toMatchObject([{ outcome: 'pending', stage: 'before_rollout' }]);
    const again = world.decide();
    expect(again).toMatchObject({ kind: 'run_gate', gate: { stage: 'before_rollout' } });
    expect(again.kind === 'run_gate' && first.kind === 'run_gate' && again.gate.id !== first.gate.id).toBe(true);
    expect(world.run().kind).toBe('complete');
  });

  it('a gate whose answers keep getting lost fails the deployment at the progress deadline, with nothing changed', () => {
    const world = new World(gated(['before_rollout']), { gate: () => 'lost', deadlineMs: 60_000 });
    expect(world.run(50, (a) => a.kind === 'fail')).toEqual({
      kind: 'fail',
      reason: `no progress within the 1m0s deadline before the rollout began (gate ${GATE} gave no answer); nothing was changed`,
    });
    expect(world.gateCalls.length).toBeGreaterThan(1);
    expect(kinds(world)).not.toContain('start_replicas');
  });

  it('a result that comes after an abort changes nothing', () => {
    const world = new World(gated(['before_weight_increase']), { gate: () => 'lost' });
    world.run(50, (a) => a.kind === 'run_gate');
    const asked = world.last;
    world.observed.requests.abort = true;
    expect(world.run(5)).toEqual({ kind: 'rollback', reason: 'aborted with maestro abort' });
    if (asked?.kind === 'run_gate') world.observed.gate = { id: asked.gate.id, outcome: 'fail', reason: 'answered 503', at: world.observed.now };
    expect(world.decide()).toEqual({ kind: 'rollback', reason: 'aborted with maestro abort' });
  });

  it('blue_green asks before promotion, after the promote; immediate only before the rollout', () => {
    const blueGreen = new World(strategyOf({ type: 'blue_green', gates: [{ webhook: GATE, on: ['before_promotion'] }] }));
    expect(blueGreen.run().kind).toBe('pause');
    expect(blueGreen.gateCalls).toEqual([]);
    blueGreen.observed.requests.promote = true;
    expect(blueGreen.decide()).toMatchObject({ kind: 'run_gate', gate: { stage: 'before_promotion', currentWeight: 0, nextWeight: 100 } });
    expect(blueGreen.run().kind).toBe('complete');
    const refused = new World(strategyOf({ type: 'blue_green', auto_promote_after: '0s', gates: [{ webhook: GATE, on: ['before_promotion'] }] }), { gate: () => 'fail' });
    // No traffic had moved: the deployment fails and the stable revision never stopped serving.
    expect(refused.run()).toEqual({ kind: 'fail', reason: `gate ${GATE} answered 503 before promoting to 100%` });
    expect(refused.weightOf('rev_old')).toBe(100);
  });

  it('a first deploy asks only the before_rollout gates', () => {
    const world = new World(gated(['before_rollout', 'before_weight_increase', 'before_promotion']), { hasStable: false });
    expect(world.run().kind).toBe('complete');
    expect(calls(world)).toEqual([['before_rollout', 0, 0]]);
  });
});

describe('provider errors: a metric source down holds the rollout on its own budget', () => {
  const canary = strategyOf({ type: 'canary', steps: [{ weight: 20 }, { pause: '10s' }, { weight: 50 }], watch: '0s' });
  const down = (world: World) => {
    world.observed.analysis = { outcome: 'inconclusive', reason: 'PromQL "up": Prometheus at http://127.0.0.1:9090 is not reachable', at: world.observed.now, providerError: true };
  };
  /** One decision at `at` ms after `from` (the World's waits would otherwise move its clock to when they end). */
  const decideAt = (world: World, from: number, at: number) => {
    world.observed.now = from + at;
    return world.decide();
  };

  it('60 s of provider errors hold the weight, neither pausing nor rolling back; passes then carry it to the end', () => {
    const world = new World(canary);
    world.run(50, (a) => a.kind === 'set_weights');
    const from = world.observed.now;
    for (let t = 0; t <= 60_000; t += 1000) {
      world.observed.now = from + t;
      down(world);
      expect(decideAt(world, from, t).kind).toBe('wait');
      expect(world.weightOf('rev_new')).toBe(20);
    }
    expect(world.state.providerErrors.count).toBe(61);
    expect(world.state.inconclusive.count).toBe(0);
    expect(world.state.failures).toBe(0);
    expect(strategies.describeState(canary, world.state)).toMatchObject({
      providerErrors: { count: 61, budgetMs: 120_000, reason: expect.stringContaining('not reachable') },
      detail: expect.stringContaining('a metric source is failing'),
    });
    world.verdict('pass');
    expect(world.run().kind).toBe('complete');
    expect(kinds(world)).not.toContain('pause');
  });

  it('past the budget (2 minutes by default) the rollout pauses with an alert, never rolls back, even at the deadline', () => {
    const world = new World(canary, { deadlineMs: 300_000 });
    world.run(50, (a) => a.kind === 'set_weights');
    const from = world.observed.now;
    let t = 0;
    for (; t <= 200_000; t += 1000) {
      world.observed.now = from + t;
      down(world);
      if (decideAt(world, from, t).kind === 'pause') break;
    }
    expect(t).toBe(121_000);
    expect(world.last).toMatchObject({ kind: 'pause', reason: expect.stringMatching(/^a metric source has been failing for 2m1s \(122 verdicts, budget 2m0s\).*not reachable.*held, not judged/) });
    world.observed.now = from + 900_000;
    down(world);
    expect(decideAt(world, from, 900_000).kind).toBe('wait');
    expect(world.weightOf('rev_new')).toBe(20);
    world.observed.requests.promote = true;
    world.verdict('pass');
    expect(world.run().kind).toBe('complete');
  });

  it('analysis.provider_error_budget sets the budget', () => {
    const short = strategyOf({ type: 'canary', steps: [{ weight: 20 }, { pause: '10s' }], analysis: { provider_error_budget: '30s' } });
    const world = new World(short);
    expect(world.state.limits.providerErrorSpanMs).toBe(30_000);
    world.run(50, (a) => a.kind === 'set_weights');
    const from = world.observed.now;
    for (let t = 0; t <= 30_000; t += 1000) {
      world.observed.now = from + t;
      down(world);
      decideAt(world, from, t);
    }
    expect(world.state.phase).not.toBe('paused');
    world.observed.now = from + 31_000;
    down(world);
    expect(decideAt(world, from, 31_000).kind).toBe('pause');
  });

  it('at the progress deadline a failing source pauses the rollout instead of rolling it back', () => {
    const world = new World(strategyOf({ type: 'canary', steps: [{ weight: 10 }, { pause: '5m' }] }), { deadlineMs: 120_000 });
    world.state = { ...world.state, limits: { ...world.state.limits, providerErrorSpanMs: 3_600_000 } };
    world.run(50, (a) => a.kind === 'set_weights');
    const from = world.observed.now;
    down(world);
    decideAt(world, from, 0);
    world.observed.now = from + 130_000;
    down(world);
    expect(decideAt(world, from, 130_000)).toMatchObject({ kind: 'pause', reason: expect.stringContaining('while a metric source was failing') });
    expect(world.weightOf('rev_new')).toBe(10);
  });

  it('the budgets are separate: an outage does not use up the budget for too little data, nor the reverse', () => {
    const world = new World(canary);
    world.run(50, (a) => a.kind === 'set_weights');
    const from = world.observed.now;
    for (const t of [0, 10_000]) {
      world.observed.now = from + t;
      world.verdict('inconclusive', 'only 3 of 50 requests');
      decideAt(world, from, t);
    }
    for (let t = 20_000; t < 80_000; t += 2000) {
      world.observed.now = from + t;
      down(world);
      decideAt(world, from, t);
    }
    // Two short-of-data verdicts before a minute of outage, one after: not 3 verdicts over 30 s of lacking data.
    world.observed.now = from + 80_000;
    world.verdict('inconclusive', 'only 3 of 50 requests');
    expect(decideAt(world, from, 80_000).kind).toBe('wait');
    expect(world.state.phase).not.toBe('paused');
    expect(world.state.inconclusive.count).toBe(1);
    expect(world.state.providerErrors.count).toBe(0);
  });
});
