import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Strategy } from '../../src/manifest/strategy-schema.js';
import { strategies } from '../../src/rollout/index.js';
import { isEnd, strategyOf, World } from './strategies-world.js';

/** Things that happen in the world between two decisions. */
type Event =
  | { kind: 'decide' }
  | { kind: 'verdict'; outcome: strategies.Outcome }
  | { kind: 'promote' }
  | { kind: 'fullPromote' }
  | { kind: 'abort' }
  | { kind: 'tick'; ms: number }
  | { kind: 'unhealthy' }
  | { kind: 'allDown'; which: 'target' | 'stable' }
  | { kind: 'crash' };

const eventArb: fc.Arbitrary<Event> = fc.oneof(
  { weight: 20, arbitrary: fc.constant({ kind: 'decide' as const }) },
  { weight: 4, arbitrary: fc.constantFrom('pass', 'inconclusive', 'fail').map((outcome) => ({ kind: 'verdict' as const, outcome: outcome as strategies.Outcome })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'promote' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'fullPromote' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'abort' as const }) },
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 120_000 }).map((ms) => ({ kind: 'tick' as const, ms })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'unhealthy' as const }) },
  { weight: 1, arbitrary: fc.constantFrom('target' as const, 'stable' as const).map((which) => ({ kind: 'allDown' as const, which })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'crash' as const }) },
);

const canaryStepArb = fc.oneof(
  fc.integer({ min: 1, max: 99 }).map((weight) => ({ weight })),
  fc.constantFrom('0s', '10s', '2m').map((duration) => ({ pause: { duration } })),
  fc.constant({ pause: {} }),
  fc.option(fc.constantFrom('0s', '5s'), { nil: undefined }).map((duration) => ({ analysis: duration === undefined ? {} : { duration } })),
);

type Stage = strategies.GateStage;

/** Up to two webhook gates, each asked at some of the moments the strategy has. */
const gatesArb = (stages: Stage[]) =>
  fc
    .array(fc.record({ on: fc.subarray(stages, { minLength: 1 }), timeout: fc.constantFrom('1s', '10s', '5m') }), { maxLength: 2 })
    .map((gates) => gates.map((gate, index) => ({ webhook: `https://ci.example.com/gate-${index}`, ...gate })));

const strategyArb: fc.Arbitrary<Strategy> = fc.oneof(
  gatesArb(['before_rollout']).map((gates) => strategyOf({ type: 'immediate', gates })),
  fc
    .record({
      surge: fc.constantFrom<number | string>(0, 1, 2, '25%', '50%'),
      unavailable: fc.constantFrom<number | string>(0, 1, '25%'),
      gates: gatesArb(['before_rollout']),
    })
    .filter(({ surge, unavailable }) => !(surge === 0 && unavailable === 0))
    .map(({ surge, unavailable, gates }) => strategyOf({ type: 'rolling', max_surge: surge, max_unavailable: unavailable, gates })),
  fc
    .record({ auto: fc.option(fc.constantFrom('0s', '30s'), { nil: undefined }), gates: gatesArb(['before_rollout', 'before_promotion']) })
    .map(({ auto, gates }) => strategyOf({ type: 'blue_green', gates, ...(auto ? { auto_promote_after: auto } : {}) })),
  fc
    .record({
      steps: fc.array(canaryStepArb, { minLength: 1, maxLength: 5 }),
      watch: fc.constantFrom('0s', '30s', '1m'),
      gates: gatesArb(['before_rollout', 'before_weight_increase', 'before_promotion']),
    })
    .map(({ steps, watch, gates }) => strategyOf({ type: 'canary', steps, watch, gates })),
);

/** How gate calls end, in turn: mostly answered 2xx, sometimes refused, sometimes lost (the answer never comes back). */
const gateEndingsArb = fc.array(fc.constantFrom<'pass' | 'fail' | 'lost'>('pass', 'pass', 'pass', 'fail', 'lost'), { minLength: 1, maxLength: 8 });

const worldArb = fc.record({
  strategy: strategyArb,
  desired: fc.integer({ min: 1, max: 5 }),
  hasStable: fc.boolean(),
  release: fc.constantFrom<'none' | 'pending'>('none', 'pending'),
  events: fc.array(eventArb, { maxLength: 80 }),
  gateEndings: gateEndingsArb,
});

function worldOf(input: { strategy: Strategy; desired: number; hasStable?: boolean; release: 'none' | 'pending'; gateEndings: Array<'pass' | 'fail' | 'lost'> }): World {
  const { strategy, desired, hasStable, release, gateEndings } = input;
  return new World(strategy, { desired, ...(hasStable !== undefined ? { hasStable } : {}), release, gate: (n) => gateEndings[n % gateEndings.length]! });
}

function perturb(world: World, event: Event): void {
  const { observed } = world;
  switch (event.kind) {
    case 'verdict':
      world.advance(1);
      world.verdict(event.outcome);
      break;
    case 'promote':
    case 'fullPromote':
    case 'abort':
      observed.requests[event.kind] = true;
      break;
    case 'tick':
      world.advance(event.ms);
      break;
    case 'unhealthy':
      observed.target.healthyReplicas = Math.max(0, observed.target.healthyReplicas - 1);
      break;
    case 'allDown': {
      // Every replica of one revision stops answering its health check (the stable one can crash too).
      const view = event.which === 'target' ? observed.target : observed.stable;
      if (view) view.healthyReplicas = 0;
      break;
    }
    case 'crash':
      observed.target.failure = 'replica exited with code 1 three times';
      break;
    case 'decide':
      break;
  }
}

function targetWeights(world: World): number[] {
  return world.steps.flatMap((step) =>
    step.action.kind === 'set_weights' && step.state.phase !== 'rolling_back'
      ? [step.action.weights.filter((w) => w.revisionId === 'rev_new').reduce((sum, w) => sum + w.weight, 0)]
      : [],
  );
}

/** Each event, then a decision (the World checks every one), until the rollout ends. */
function play(world: World, events: Event[]): void {
  for (const event of events) {
    if (world.state.result) return;
    perturb(world, event);
    world.decide();
  }
}

/** On with passing analysis and a person promoting every pause, so every step and gate is reached. */
function walkOn(world: World, decisions: number): void {
  for (let i = 0; i < decisions && !world.state.result; i += 1) {
    world.advance(1);
    world.verdict('pass');
    if (world.state.phase === 'paused') world.observed.requests.promote = true;
    world.decide();
  }
}

describe('rollout strategy properties', () => {
  it('weights always sum to 100 and never reach a revision with no healthy replica; every run ends once past the deadline', () => {
    fc.assert(
      fc.property(worldArb, (input) => {
        const world = worldOf(input);
        play(world, input.events);
        if (world.state.result) return;
        world.advance(world.observed.progressDeadlineMs + 1);
        world.run(30, (action) => isEnd(action) || world.state.phase === 'paused');
      }),
      { numRuns: 300 },
    );
  });

  it('an abort always ends with the stable revision at 100% (or a fail on a first deploy)', () => {
    fc.assert(
      fc.property(worldArb, fc.nat(60), (input, abortAt) => {
        const { hasStable } = input;
        const world = worldOf(input);
        for (const event of input.events.slice(0, abortAt)) {
          if (world.state.result) return;
          perturb(world, event);
          world.decide();
        }
        if (world.state.result) return;
        world.observed.requests.abort = true;
        const from = world.steps.length;
        const end = world.run(3, (action) => action.kind === 'rollback' || action.kind === 'fail');
        expect(world.observed.requests.abort).toBe(false);
        if (!hasStable) {
          expect(end.kind).toBe('fail');
          return;
        }
        expect(end.kind).toBe('rollback');
        const movedBack = world.steps
          .slice(from)
          .some((step) => step.action.kind === 'set_weights' && step.action.weights.length === 1 && step.action.weights[0]!.revisionId === 'rev_old');
        const atAbort = world.steps[from]!.observed;
        const alreadyThere = atAbort.appliedWeights.every((w) => w.revisionId === 'rev_old' && w.weight === 100);
        // With no healthy stable replica no weight may go to it: the rollback itself restarts it.
        const stableDown = atAbort.stable!.healthyReplicas === 0;
        expect(movedBack || alreadyThere || stableDown).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('a refused gate ends the rollout, naming the gate and the moment; refused before the rollout, nothing started and no traffic moved', () => {
    fc.assert(
      fc.property(worldArb, (input) => {
        const world = worldOf(input);
        play(world, input.events);
        walkOn(world, 200);
        const refused = world.state.gates.find((record) => record.outcome === 'fail');
        if (!refused) return;
        expect(world.state.gates.at(-1)).toBe(refused);
        const end = world.state.result;
        expect(end && end.kind !== 'complete' ? end.reason : end?.kind).toBe(`gate ${refused.webhook} answered 503 ${strategies.momentText(refused)}`);
        if (refused.stage === 'before_rollout') {
          expect(end?.kind).toBe('fail');
          expect(world.steps.some((step) => ['start_replicas', 'run_release', 'set_weights'].includes(step.action.kind))).toBe(false);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('canary: inconclusive or failing analysis never advances a step; steps apply in order; weights never go down before promotion', () => {
    const canaryWorld = worldArb.filter((input) => input.strategy.type === 'canary' && input.hasStable);
    fc.assert(
      fc.property(canaryWorld, (input) => {
        const { strategy } = input;
        if (strategy.type !== 'canary') return;
        const world = worldOf({ ...input, hasStable: true });
        for (const event of input.events) {
          if (world.state.result) break;
          perturb(world, event);
          const before = world.state;
          world.decide();
          const after = world.state;
          const holding = after.analysis !== undefined && after.lastVerdict !== undefined && after.lastVerdict.outcome !== 'pass';
          if (holding && !after.consumedRequests.fullPromote && after.phase !== 'rolling_back') {
            expect(after.step).toBeLessThanOrEqual(before.step);
            expect(after.targetWeight).toBeLessThanOrEqual(before.targetWeight);
          }
        }
        walkOn(world, 150);
        // Each weight set is the running maximum of the weight steps walked so far, in order, then 100.
        let highest = 0;
        const allowed = strategy.steps.flatMap((step) => ('weight' in step ? [(highest = Math.max(highest, step.weight))] : []));
        const seen = targetWeights(world);
        let cursor = 0;
        for (const weight of seen) {
          if (weight === 100) continue;
          while (cursor < allowed.length && allowed[cursor] !== weight) cursor += 1;
          expect(cursor, `weight ${weight} out of step order ${allowed.join(',')}`).toBeLessThan(allowed.length);
        }
        for (let i = 1; i < seen.length; i += 1) expect(seen[i]!).toBeGreaterThanOrEqual(seen[i - 1]!);
      }),
      { numRuns: 300 },
    );
  });
});
