/**
 * Rollout strategies as maestro.yml spells them: a bare name takes the defaults, an object tunes them.
 * Every shape is validated here even where the rollout module does not execute it yet.
 */
import { z } from 'zod';
import { parseDuration } from '../common/units.js';
import { countOrPercent, duration, envName, expecting, flag, oneOf, parsePercent, text, wholeNumber } from './fields.js';
import { describeValue, didYouMean } from './suggest.js';

export const STRATEGY_TYPES = ['immediate', 'rolling', 'blue_green', 'canary'] as const;
export const METRICS = ['error_rate', 'latency_p50', 'latency_p95', 'latency_p99', 'request_rate'] as const;
/** The moments of a rollout a webhook gate can be asked about. */
export const GATE_STAGES = ['before_rollout', 'before_weight_increase', 'before_promotion'] as const;
/** A gate holds the rollout while it waits; the whole rollout has a 10-minute progress deadline. */
export const MAX_GATE_TIMEOUT_MS = 5 * 60_000;

const STRATEGY_LIST = STRATEGY_TYPES.join(', ');

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** What a limit on each built-in metric looks like, and whether a written one fits. */
const METRIC_LIMITS: Record<(typeof METRICS)[number], { shape: string; fits: (max: unknown) => boolean }> = {
  error_rate: { shape: 'a percentage like 1%', fits: (max) => typeof max === 'string' && parsePercent(max) !== undefined },
  latency_p50: { shape: 'a duration like 500ms', fits: isDurationText },
  latency_p95: { shape: 'a duration like 500ms', fits: isDurationText },
  latency_p99: { shape: 'a duration like 500ms', fits: isDurationText },
  request_rate: { shape: 'a number of requests per second', fits: (max) => typeof max === 'number' && max >= 0 },
};

function isDurationText(value: unknown): boolean {
  return typeof value === 'string' && parseDuration(value) !== undefined;
}

const metricCheck = z
  .strictObject({
    metric: oneOf(METRICS).describe('A metric the router measures for every revision.'),
    max: z
      .union([z.number(), z.string()], { error: expecting('a limit: a percentage, a duration or a number') })
      .describe('The highest acceptable value: a percentage for error_rate (1%), a duration for latencies (500ms), requests per second for request_rate.'),
  })
  .superRefine((check, ctx) => {
    const limit = METRIC_LIMITS[check.metric];
    if (!limit.fits(check.max))
      ctx.addIssue({ code: 'custom', path: ['max'], message: `must be ${limit.shape} for ${check.metric}, got ${describeValue(check.max)}` });
  });

const prometheusCheck = z.strictObject({
  prometheus: text('a PromQL query that returns one number').describe('A PromQL query that returns one number.'),
  max: z.number({ error: expecting('a number') }).describe('The highest acceptable value of the query.'),
});

const analysisCheck = z.union([metricCheck, prometheusCheck], {
  error: (issue) =>
    isMapping(issue.input)
      ? `needs either metric (one of ${METRICS.join(', ')}) or prometheus (a query), and max`
      : `must be a mapping like {metric: error_rate, max: 1%}, got ${describeValue(issue.input)}`,
});

function checkList() {
  return z.array(analysisCheck, { error: expecting('a list of checks') }).min(1, { error: 'needs at least one check' });
}

const DEFAULT_CHECKS: z.output<typeof analysisCheck>[] = [{ metric: 'error_rate', max: '1%' }];

const analysis = z
  .strictObject({
    interval: duration({ positive: true }).default('1s').describe('How often the checks are evaluated.'),
    min_requests: wholeNumber(0, 1_000_000_000)
      .default(50)
      .describe('Requests the new revision must have served before a check can fail it.'),
    checks: checkList().default(DEFAULT_CHECKS).describe('Conditions the new revision must keep meeting; any failure rolls back.'),
    provider_error_budget: duration()
      .optional()
      .describe(
        "How long a metric source may keep failing (Prometheus unreachable, a query refused, the router's figures unreadable) before the rollout pauses with an alert; default 2m. Such errors hold the rollout: they never fail a check and never pass one.",
      ),
  })
  .describe('Background analysis that runs for the whole rollout and rolls back on the first failed check.');

const stepAnalysis = z
  .strictObject({
    duration: duration()
      .optional()
      .describe('How long this analysis runs before the next step; without it, until min_requests requests were seen.'),
    interval: duration({ positive: true }).optional().describe('How often the checks are evaluated; default: the strategy analysis interval.'),
    min_requests: wholeNumber(0, 1_000_000_000).optional().describe('Default: the strategy analysis min_requests.'),
    checks: checkList().optional().describe('Default: the strategy analysis checks.'),
  })
  .describe('Run an analysis now and continue only if it passes.');

const pause = z
  .union(
    [
      duration().transform((written) => ({ duration: written })),
      z.strictObject({ duration: duration().optional().describe('How long to wait; without it, wait for a manual promote.') }),
    ],
    { error: (issue) => `must be a duration like 30s, or {} to wait for a manual promote, got ${describeValue(issue.input)}` },
  )
  .describe('Wait: a duration like 30s, or {} to wait for a manual promote.');

const STEP_KINDS = ['weight', 'pause', 'analysis'];

const canaryStep = z.union(
  [
    z.strictObject({ weight: wholeNumber(1, 99).describe('Percent of traffic sent to the new revision.') }),
    z.strictObject({ pause }),
    z.strictObject({ analysis: stepAnalysis }),
  ],
  {
    error: (issue) => {
      const shapes = '{weight: 10}, {pause: 30s}, {pause: {}} or {analysis: {...}}';
      if (!isMapping(issue.input)) return `must be one of ${shapes}, got ${describeValue(issue.input)}`;
      const keys = Object.keys(issue.input);
      if (keys.length > 1) return `has ${keys.join(' and ')}; a step does one thing: ${shapes}`;
      const guess = keys[0] === undefined ? '' : didYouMean(keys[0], STEP_KINDS);
      return `must be one of ${shapes}${guess}`;
    },
  },
);

const DEFAULT_STEPS: z.output<typeof canaryStep>[] = [
  { weight: 10 },
  { pause: { duration: '30s' } },
  { weight: 50 },
  { pause: { duration: '30s' } },
];

export type GateStage = (typeof GATE_STAGES)[number];

const GATE_URL_SHAPE = 'an http:// or https:// URL like https://ci.example.com/maestro-gate';

function gateUrl() {
  return z.string({ error: expecting(GATE_URL_SHAPE) }).superRefine((value, ctx) => {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      ctx.addIssue({ code: 'custom', message: `must be ${GATE_URL_SHAPE}, got ${describeValue(value)}` });
      return;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      ctx.addIssue({ code: 'custom', message: `must use http or https, not ${url.protocol.replace(/:$/, '')}: write ${GATE_URL_SHAPE}` });
    } else if (url.username || url.password) {
      // The manifest is in the repository and the URL shows in rollout status: no credentials in it.
      ctx.addIssue({ code: 'custom', message: 'must not carry a user name or password; set secret_env and check the X-Maestro-Signature header instead' });
    }
  });
}

function gateTimeout() {
  return duration({ positive: true }).refine((value) => (parseDuration(value) ?? 0) <= MAX_GATE_TIMEOUT_MS, {
    error: (issue) => `must be at most 5m (a gate holds the rollout while it waits), got ${describeValue(issue.input)}`,
  });
}

/** Webhooks asked at the given moments of a `type` rollout; a moment that type never reaches is an error. */
function gateList(type: StrategyType, stages: readonly GateStage[]) {
  const where = stages.join(', ');
  const gate = z
    .strictObject({
      webhook: gateUrl().describe(
        'Where the gate is asked: Maestro POSTs the moment as JSON; a 2xx answer passes, any other answer, no connection or no answer within timeout fails.',
      ),
      on: z
        .array(oneOf(GATE_STAGES), { error: expecting(`a list of moments: ${where}`) })
        .min(1, { error: `needs at least one moment: ${where}` })
        .describe(`When the gate is asked: ${where}.`),
      timeout: gateTimeout().default('10s').describe('How long to wait for the answer (at most 5m); no answer in time fails the gate.'),
      secret_env: envName()
        .optional()
        .describe(
          "An environment variable of the control plane holding a signing secret: requests then carry X-Maestro-Signature: sha256=<HMAC-SHA256 of the body>. Without it requests are not signed.",
        ),
    })
    .superRefine((gate, ctx) => {
      gate.on.forEach((stage, index) => {
        if (!stages.includes(stage)) {
          ctx.addIssue({ code: 'custom', path: ['on', index], message: `${stage} never happens in a ${type} rollout; its gates run ${where}` });
        } else if (gate.on.indexOf(stage) !== index) {
          ctx.addIssue({ code: 'custom', path: ['on', index], message: `${stage} is listed twice` });
        }
      });
    });
  return z
    .array(gate, { error: expecting('a list of gates like [{webhook: https://ci.example.com/maestro-gate, on: [before_rollout]}]') })
    .optional()
    .describe(`Webhooks that must answer 2xx before the rollout goes on, asked ${where}.`);
}

const immediate = z
  .strictObject({ type: z.literal('immediate').describe('The strategy.'), gates: gateList('immediate', ['before_rollout']) })
  .describe('Start the new revision, wait until it is healthy, move all traffic at once.');

const rolling = z
  .strictObject({
    type: z.literal('rolling').describe('The strategy.'),
    gates: gateList('rolling', ['before_rollout']),
    max_surge: countOrPercent().default(1).describe('Replicas (or a share of them) started above the desired count during the update.'),
    max_unavailable: countOrPercent()
      .default(0)
      .describe('Replicas (or a share of them) that may be missing below the desired count during the update.'),
  })
  .refine((strategy) => !(isZero(strategy.max_surge) && isZero(strategy.max_unavailable)), {
    path: ['max_surge'],
    message: 'max_surge and max_unavailable cannot both be 0, or the update could never make progress',
  })
  .describe('Replace replicas a few at a time.');

function isZero(value: number | string): boolean {
  return typeof value === 'number' ? value === 0 : parsePercent(value) === 0;
}

const blueGreen = z
  .strictObject({
    type: z.literal('blue_green').describe('The strategy.'),
    gates: gateList('blue_green', ['before_rollout', 'before_promotion']),
    auto_promote_after: duration()
      .optional()
      .describe('Move traffic to the new revision this long after it is healthy; without it, wait for a manual promote.'),
    scale_down_delay: duration().default('30s').describe('How long the old revision keeps running after the switch.'),
    preview: flag().default(false).describe('Serve the new revision at a preview address before it takes traffic.'),
  })
  .describe('Start a full copy of the new revision beside the old one, then switch all traffic at once.');

const canary = z
  .strictObject({
    type: z.literal('canary').describe('The strategy.'),
    gates: gateList('canary', GATE_STAGES),
    steps: z
      .array(canaryStep, { error: expecting('a list of steps') })
      .min(1, { error: 'needs at least one step' })
      .default(DEFAULT_STEPS)
      .describe('What to do in order: shift traffic (weight), wait (pause), or check (analysis).'),
    analysis: analysis.prefault({}),
    watch: duration().default('1m').describe('How long analysis keeps watching after the new revision has all traffic.'),
    sticky: flag().default(false).describe('Keep each client on the revision it first reached.'),
  })
  .describe('Shift traffic step by step while analysis watches the new revision.');

const strategyObject = z.discriminatedUnion('type', [immediate, rolling, blueGreen, canary], {
  error: (issue) => {
    if (!isMapping(issue.input)) return `must be a mapping with type, got ${describeValue(issue.input)}`;
    const type = issue.input['type'];
    if (type === undefined) return `is required: one of ${STRATEGY_LIST}`;
    const guess = typeof type === 'string' ? didYouMean(type, STRATEGY_TYPES) : '';
    return `must be one of ${STRATEGY_LIST}, got ${describeValue(type)}${guess}`;
  },
});

export const strategySchema = z
  .union([oneOf(STRATEGY_TYPES).transform((type) => strategyObject.parse({ type })), strategyObject], {
    error: (issue) => {
      if (typeof issue.input === 'string')
        return `must be one of ${STRATEGY_LIST}, got ${describeValue(issue.input)}${didYouMean(issue.input, STRATEGY_TYPES)}`;
      return `must be a strategy name (${STRATEGY_LIST}) or a mapping with type and its settings, got ${describeValue(issue.input)}`;
    },
  })
  .describe('How a new revision replaces the old one: a name with defaults, or a mapping with type and settings.');

/** A strategy with every default filled in; `type` tells which. */
export type Strategy = z.output<typeof strategyObject>;
export type CanaryStep = z.output<typeof canaryStep>;
export type AnalysisCheck = z.output<typeof analysisCheck>;
export type StrategyType = (typeof STRATEGY_TYPES)[number];
export type Gate = NonNullable<Strategy['gates']>[number];
export type Metric = (typeof METRICS)[number];
