// Rollout analysis: metric sources (the router's own figures, Prometheus) and the statistics that judge a new revision.
export {
  FISHER_MAX_TOTAL,
  binomialUpperTail,
  fisherExactGreater,
  logFactorial,
  normalUpperTail,
  twoProportionTest,
  type ProportionTest,
} from './stats.js';
export {
  DEFAULT_ALPHA,
  checkName,
  combineOutcomes,
  evaluateChecks,
  sampleFigures,
  type EvaluationInput,
} from './evaluate.js';
export type { AnalysisCheck, CheckResult, Outcome, PromProblem, PromResult, RevisionSample, Verdict } from './types.js';
export { RouterMetricsSource, countsFromCumulative, type RouterSourceOptions } from './router-source.js';
export { queryPrometheus, interpretPrometheusAnswer, type PrometheusQueryOptions } from './prometheus-source.js';
export { RolloutAnalysis, type AnalysisSpec } from './rollout-analysis.js';
