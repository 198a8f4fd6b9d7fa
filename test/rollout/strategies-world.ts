/**
 * A small simulated world the rollout controller would act on: replicas start and become healthy, the
 * router takes weights, the clock moves. Lets the strategies be driven to their end without processes.
 */
import { expect } from 'vitest';
import { strategySchema, type Strategy } from '../../src/manifest/strategy-schema.js';
import { strategies } from '../../src/rollout/index.js';

type Observation = strategies.RolloutObservation;
type Action = strategies.RolloutAction;

export function strategyOf(input: unknown): Strategy {
  return strategySchema.parse(input) as Strategy;
}

export interface WorldOptions {
  desired?: number;
  stableReplicas?: number;
  hasStable?: boolean;
  release?: 'none' | 'pending';
  releaseFails?: boolean;
  /** Replicas of the target fail to become healthy. */
  targetCrashes?: boolean;
  deadlineMs?: number;
  /** How the n-th gate call ends: answered (pass or fail), or lost (no result ever comes back). Default: every gate passes. */
  gate?: (n: number, request: strategies.GateRequest) => 'pass' | 'fail' | 'lost';
}

export interface Step {
  action: Action;
  observed: Observation;
  state: strategies.RolloutState;
}

export class World {
  observed: Observation;
  state: strategies.RolloutState;
  readonly steps: Step[] = [];
  readonly options: WorldOptions;
  /** Every gate call asked for, in order. */
  readonly gateCalls: strategies.GateRequest[] = [];

  constructor(
    readonly strategy: Strategy,
    options: WorldOptions = {},
  ) {
    this.options = options;
    const desired = options.desired ?? 2;
    const stableReplicas = options.stableReplicas ?? desired;
    const hasStable = options.hasStable ?? true;
    this.observed = {
      now: 1_000_000,
      target: { revisionId: 'rev_new', desiredReplicas: desired, startedReplicas: 0, healthyReplicas: 0 },
      ...(hasStable
        ? { stable: { revisionId: 'rev_old', desiredReplicas: stableReplicas, startedReplicas: stableReplicas, healthyReplicas: stableReplicas } }
        : {}),
      appliedWeights: hasStable ? [{ revisionId: 'rev_old', weight: 100 }] : [],
      releaseCommand: options.release ?? 'none',
      requests: { promote: false, fullPromote: false, abort: false },
      progressDeadlineMs: options.deadlineMs ?? 600_000,
    };
    this.state = strategies.initialState(strategy, this.snapshot());
  }

  snapshot(): Observation {
    return structuredClone(this.observed);
  }

  get last(): Action | undefined {
    return this.steps.at(-1)?.action;
  }

  /** One decision, checked against the invariants, then carried out. */
  decide(): Action {
    const observed = this.snapshot();
    const { state, action } = strategies.decide(this.strategy, this.state, observed);
    expect(JSON.parse(JSON.stringify(state))).toEqual(state);
    this.checkInvariants(action, observed);
    this.checkGates(action, observed, state);
    this.state = state;
    this.steps.push({ action, observed, state });
    for (const name of ['promote', 'fullPromote', 'abort'] as const) if (state.consumedRequests[name]) this.observed.requests[name] = false;
    this.carryOut(action);
    return action;
  }

  /** Decide until the rollout ends or pauses, or `max` decisions. */
  run(max = 200, until: (action: Action) => boolean = isEnd): Action {
    for (let i = 0; i < max; i += 1) {
      const action = this.decide();
      if (until(action)) return action;
    }
    throw new Error(`no end after ${max} decisions: ${this.steps.slice(-5).map((s) => s.action.kind).join(', ')}`);
  }

  verdict(outcome: strategies.Outcome, reason = `checks ${outcome}`, figures?: Record<string, unknown>): void {
    this.observed.analysis = { outcome, reason, at: this.observed.now, ...(figures ? { figures } : {}) };
  }

  advance(ms: number): void {
    this.observed.now += ms;
  }

  weightOf(revisionId: string): number {
    return this.observed.appliedWeights.filter((w) => w.revisionId === revisionId).reduce((sum, w) => sum + w.weight, 0);
  }

  private checkInvariants(action: Action, observed: Observation): void {
    if (action.kind !== 'set_weights') return;
    expect(action.weights.reduce((sum, w) => sum + w.weight, 0)).toBe(100);
    for (const { revisionId, weight } of action.weights) {
      expect(weight).toBeGreaterThanOrEqual(0);
      expect(weight).toBeLessThanOrEqual(100);
      if (weight > 0) {
        const view = [observed.target, observed.stable].find((v) => v?.revisionId === revisionId);
        expect(view?.healthyReplicas ?? 0, `weight ${weight} on ${revisionId} with no healthy replica`).toBeGreaterThan(0);
      }
    }
  }

  /** Nothing starts before every before_rollout gate passed; no canary or blue/green weight goes up before its gates passed. */
  private checkGates(action: Action, observed: Observation, state: strategies.RolloutState): void {
    const gates = this.strategy.gates ?? [];
    const passed = (stage: strategies.GateStage, nextWeight: number) =>
      gates.every((gate, index) => !gate.on.includes(stage) || state.gates.some((r) => r.gate === index && r.stage === stage && r.nextWeight === nextWeight && r.outcome === 'pass'));
    if (action.kind === 'start_replicas' || action.kind === 'run_release') {
      expect(passed('before_rollout', 0), `${action.kind} before every before_rollout gate passed`).toBe(true);
    }
    const gated = this.strategy.type === 'canary' || this.strategy.type === 'blue_green';
    if (action.kind !== 'set_weights' || !gated || state.stableId === undefined || state.phase === 'rolling_back') return;
    const next = action.weights.filter((w) => w.revisionId === 'rev_new').reduce((sum, w) => sum + w.weight, 0);
    const now = observed.appliedWeights.filter((w) => w.revisionId === 'rev_new').reduce((sum, w) => sum + w.weight, 0);
    if (next <= now) return;
    const stage = next === 100 ? 'before_promotion' : 'before_weight_increase';
    expect(passed(stage, next), `weight ${next} before every ${stage} gate passed`).toBe(true);
  }

  private carryOut(action: Action): void {
    const { target, stable } = this.observed;
    switch (action.kind) {
      case 'run_gate': {
        const ending = this.options.gate?.(this.gateCalls.length, action.gate) ?? 'pass';
        this.gateCalls.push(action.gate);
        if (ending !== 'lost') {
          const reason = ending === 'pass' ? 'answered 200' : 'answered 503';
          this.observed.gate = { id: action.gate.id, outcome: ending, reason, at: this.observed.now };
        }
        break;
      }
      case 'run_release':
        this.observed.releaseCommand = this.options.releaseFails ? 'failed' : 'succeeded';
        if (this.options.releaseFails) this.observed.releaseFailure = 'migration failed: relation "users" already exists';
        break;
      case 'start_replicas':
        target.startedReplicas += action.count;
        break;
      case 'stop_replicas':
        stable!.startedReplicas -= action.count;
        stable!.healthyReplicas = Math.min(stable!.healthyReplicas, stable!.startedReplicas);
        break;
      case 'await_healthy':
        if (action.revisionId === target.revisionId) {
          if (this.options.targetCrashes) target.failure = 'replica exited with code 1 three times';
          else target.healthyReplicas = target.startedReplicas;
        } else if (stable) stable.healthyReplicas = stable.startedReplicas;
        this.advance(500);
        break;
      case 'set_weights':
        this.observed.appliedWeights = action.weights.map((w) => ({ ...w }));
        break;
      case 'stop_analysis':
        delete this.observed.analysis;
        break;
      case 'wait':
        this.observed.now = Math.max(this.observed.now + 1, action.untilMs ?? this.observed.now + 1000);
        break;
      case 'rollback':
        if (stable) this.observed.appliedWeights = [{ revisionId: stable.revisionId, weight: 100 }];
        break;
      default:
        break;
    }
  }
}

export function isEnd(action: Action): boolean {
  return action.kind === 'complete' || action.kind === 'rollback' || action.kind === 'fail' || action.kind === 'pause';
}

export function kinds(world: World): string[] {
  return world.steps.map((step) => step.action.kind);
}
