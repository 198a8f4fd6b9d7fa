/**
 * The contract between the rollout controller and the strategies. The controller observes, calls
 * `decide`, carries out the ONE returned action, persists the returned state and observes again.
 * Everything here is plain data so the state can be stored as JSON and a decision replayed.
 */
import type { AnalysisCheck, Strategy } from '../../manifest/index.js';

export type Outcome = 'pass' | 'fail' | 'inconclusive';

/** A webhook gate as the manifest gives it. */
export type Gate = NonNullable<Strategy['gates']>[number];
/** The moments of a rollout a gate is asked about. */
export type GateStage = Gate['on'][number];

export interface Verdict {
  outcome: Outcome;
  reason: string;
  figures?: Record<string, unknown>;
  /** When the analysis produced this verdict (controller clock). Tells a new verdict from the same one seen again,
   * and one from an earlier analysis from the current one; without it every observation counts as a new verdict. */
  at?: number;
  /** Requests the new revision served in the analysed window; a pass below the analysis' min_requests is not yet a pass. */
  requests?: number;
  /** Inconclusive because a metric source failed (unreachable, a query refused, unreadable figures), not for lack of data. */
  providerError?: boolean;
}

/** One call of a webhook gate, as the controller is asked to make it; its result comes back with the same `id`. */
export interface GateRequest {
  id: string;
  /** Which of the strategy's gates (its index in `gates`). */
  gate: number;
  stage: GateStage;
  webhook: string;
  timeoutMs: number;
  /** The control plane's environment variable holding the signing secret, if the gate has one. */
  secretEnv?: string;
  /** The new revision's share of traffic now, and the share it gets once the gate passes. */
  currentWeight: number;
  nextWeight: number;
}

/** How a gate call ended: 2xx passes; any other status, no connection or no answer in time fails. */
export interface GateResult {
  id: string;
  outcome: 'pass' | 'fail';
  /** What happened, e.g. `answered 503` or `did not answer within 10s`. */
  reason: string;
  at: number;
}

/** A gate's answer kept in the rollout state, for `maestro rollout status` and so a passed gate is not asked again. */
export interface GateRecord {
  gate: number;
  stage: GateStage;
  webhook: string;
  nextWeight: number;
  outcome: 'pass' | 'fail';
  reason: string;
  at: number;
}

export interface RevisionView {
  revisionId: string;
  desiredReplicas: number;
  startedReplicas: number;
  healthyReplicas: number;
  failure?: string;
}

export interface RolloutObservation {
  /** ms since epoch, from the controller's clock. */
  now: number;
  /** The new revision. */
  target: RevisionView;
  /** What served before (absent on a first deploy). */
  stable?: RevisionView;
  /** What the router has now (sums to 100, or [] before any traffic). */
  appliedWeights: Array<{ revisionId: string; weight: number }>;
  releaseCommand: 'none' | 'pending' | 'succeeded' | 'failed';
  releaseFailure?: string;
  /** Latest verdict of the analysis the controller runs while `state.analysis` is set. */
  analysis?: Verdict;
  /** The latest gate call that ended; it counts when its id is the one `state.pendingGate` waits for. */
  gate?: GateResult;
  /** From `maestro promote [--full]` / `maestro abort`; the controller clears those `state.consumedRequests` names. */
  requests: { promote: boolean; fullPromote: boolean; abort: boolean };
  /** No rollout stays in progress longer: it ends promoted, rolled back, or paused with an alert. */
  progressDeadlineMs: number;
}

export type Weights = Array<{ revisionId: string; weight: number }>;

export type RolloutAction =
  | { kind: 'run_release'; revisionId: string }
  /** Ask a webhook gate (in the background); its result comes back as `observation.gate`. */
  | { kind: 'run_gate'; gate: GateRequest }
  | { kind: 'start_replicas'; revisionId: string; count: number }
  | { kind: 'stop_replicas'; revisionId: string; count: number }
  | { kind: 'await_healthy'; revisionId: string }
  | { kind: 'set_weights'; weights: Weights; reason: string }
  | { kind: 'start_analysis'; checks: AnalysisCheck[]; intervalMs: number; minRequests: number; compareWith?: string }
  | { kind: 'stop_analysis' }
  | { kind: 'wait'; untilMs?: number; reason: string }
  | { kind: 'pause'; reason: string }
  /** `forMs`: how long the old revision keeps running out of traffic (blue_green scale_down_delay); absent: the warm pool's own rule. */
  | { kind: 'keep_warm'; revisionId: string; forMs?: number }
  | { kind: 'complete'; summary: string }
  | { kind: 'rollback'; reason: string; figures?: Record<string, unknown> }
  | { kind: 'fail'; reason: string };

export type Phase =
  | 'releasing' // the release command runs before any replica starts
  | 'starting' // target replicas starting and becoming healthy
  | 'replacing' // rolling: batches of old replicas replaced by new ones
  | 'preview' // blue_green: target healthy beside the stable one, no traffic yet
  | 'stepping' // canary: walking the steps
  | 'promoting' // traffic to 100% on the target
  | 'watching' // canary: 100% on the target, analysis still watching
  | 'finishing' // old revision kept warm, about to complete
  | 'paused'
  | 'rolling_back'
  | 'completed'
  | 'rolled_back'
  | 'failed';

export interface RolloutLimits {
  /** Failing verdicts (in total) that roll back; 1: the first one does. */
  failureLimit: number;
  /** Consecutive inconclusive verdicts that, spanning more than `inconclusiveSpanMs`, pause the rollout with an alert. */
  inconclusiveLimit: number;
  inconclusiveSpanMs: number;
  /** Consecutive provider-error verdicts spanning more than this pause the rollout with an alert (never roll it back). */
  providerErrorSpanMs: number;
}

export interface AnalysisRun {
  purpose: 'background' | 'step';
  checks: AnalysisCheck[];
  intervalMs: number;
  minRequests: number;
  compareWith?: string;
  startedAt: number;
}

export interface PauseInfo {
  /** `manual`: the strategy asked for a person (pause {}, blue_green without auto promote): no deadline applies.
   * `alert`: something needs looking at (inconclusive analysis, a metric source down, deadline passed). */
  kind: 'manual' | 'alert';
  reason: string;
  since: number;
  /** The `pause` action was returned once; later decisions while paused return `wait`. */
  announced: boolean;
  /** Where a promote resumes. */
  resume: Phase;
  /** A promote also moves past the current step (canary pause {}). */
  skipStep: boolean;
}

export interface RolloutState {
  strategy: 'immediate' | 'rolling' | 'blue_green' | 'canary';
  phase: Phase;
  startedAt: number;
  /** The progress deadline counts from here: the start, or a person's promote out of an alert pause. */
  deadlineFrom: number;
  targetId: string;
  stableId?: string;
  releaseRequested: boolean;
  /** Some traffic reached the target: from then on a failure rolls back instead of failing. */
  trafficMoved: boolean;
  /** Target weight this rollout asks for now (canary: the last weight step; blue_green: 0 then 100). */
  targetWeight: number;
  /** Canary: index of the current step (== steps.length once all were walked). */
  step: number;
  stepStartedAt: number;
  healthyAt?: number;
  watchStartedAt?: number;
  /** Set while the controller must run an analysis; the controller stops it when this is cleared by stop_analysis. */
  analysis?: AnalysisRun;
  failures: number;
  /** Consecutive verdicts inconclusive for lack of data (too few requests, no series yet). */
  inconclusive: { count: number; since?: number };
  /** Consecutive verdicts inconclusive because a metric source failed: a budget of their own, apart from the above. */
  providerErrors: { count: number; since?: number; reason?: string };
  /** `at` of the last verdict taken in, so the same verdict seen again is not counted twice. */
  verdictSeenAt?: number;
  lastVerdict?: { outcome: Outcome; reason: string; figures?: Record<string, unknown>; at: number; providerError?: true };
  /** Every gate answer so far, in order. */
  gates: GateRecord[];
  /** The gate call the rollout waits for; `requestedAt` tells a call lost in a restart from a slow one. */
  pendingGate?: GateRequest & { requestedAt: number };
  pause?: PauseInfo;
  rollback?: { reason: string; figures?: Record<string, unknown> };
  keptWarm: boolean;
  /** The last action of a finished rollout, returned again if asked again. */
  result?: Extract<RolloutAction, { kind: 'complete' | 'rollback' | 'fail' }>;
  /** Which requests this decision consumed: the controller clears exactly these in the store. */
  consumedRequests: { promote: boolean; fullPromote: boolean; abort: boolean };
  limits: RolloutLimits;
}

export interface Decision {
  state: RolloutState;
  action: RolloutAction;
}

export interface StateDescription {
  phase: string;
  step?: number;
  steps?: number;
  targetWeight: number;
  detail: string;
  /** Each gate asked so far (and the one being asked), oldest first. */
  gates: Array<{ stage: GateStage; webhook: string; nextWeight: number; outcome: 'pass' | 'fail' | 'pending'; reason: string; at: string }>;
  /** Present while the metric sources keep failing. */
  providerErrors?: { count: number; since: string; budgetMs: number; reason: string };
}
