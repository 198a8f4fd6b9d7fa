import { errorMessage, type Logger } from '../../common/index.js';
import type { AnalysisCheck } from '../../manifest/index.js';
import type { Verdict } from '../strategies/index.js';
import { evaluateChecks } from './evaluate.js';
import { queryPrometheus } from './prometheus-source.js';
import { RouterMetricsSource } from './router-source.js';
import type { PromResult } from './types.js';
import type { RouterClient } from '../../router/index.js';

export interface AnalysisSpec {
  checks: AnalysisCheck[];
  intervalMs: number;
  minRequests: number;
  targetRevision: string;
  compareWith?: string;
}

/**
 * The analysis a rollout runs: every interval, the router's figures for the new revision (and the one
 * it is compared with) since the analysis began, plus the checks' PromQL queries, judged into a verdict.
 * A source that cannot answer makes the verdict inconclusive, never a pass, and marks it a provider error
 * so the rollout spends its provider-error budget on it rather than its budget for lack of data.
 */
export class RolloutAnalysis {
  private timer: NodeJS.Timeout | undefined;
  private latestVerdict: Verdict | undefined;
  private readonly source: RouterMetricsSource;
  private evaluating = false;
  readonly history: Verdict[] = [];

  constructor(
    private readonly spec: AnalysisSpec,
    router: RouterClient,
    private readonly prometheusUrl: string | undefined,
    private readonly logger: Logger,
    private readonly onVerdict: () => void,
  ) {
    this.source = new RouterMetricsSource({ router });
  }

  get latest(): Verdict | undefined {
    return this.latestVerdict;
  }

  /** Begins counting now; a router that cannot be read yet is a provider error, and counting begins once it can. */
  async start(): Promise<void> {
    await this.source.start().catch((error: unknown) => this.unreadable(error));
    this.timer = setInterval(() => void this.evaluate(), this.spec.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private async evaluate(): Promise<void> {
    if (this.evaluating) return;
    this.evaluating = true;
    try {
      if (!this.source.started) await this.source.start();
      const revisions = [this.spec.targetRevision, ...(this.spec.compareWith ? [this.spec.compareWith] : [])];
      const samples = await this.source.sample(revisions);
      const prometheus: Record<string, PromResult> = {};
      for (const check of this.spec.checks) {
        if (!('prometheus' in check)) continue;
        prometheus[check.prometheus] = this.prometheusUrl
          ? await queryPrometheus(this.prometheusUrl, check.prometheus, { timeoutMs: Math.max(500, this.spec.intervalMs) })
          : { ok: false, problem: 'unreachable', reason: 'no Prometheus is configured: start Maestro with --prometheus-url' };
      }
      const verdict = evaluateChecks({
        checks: this.spec.checks,
        minRequests: this.spec.minRequests,
        target: samples[this.spec.targetRevision]!,
        ...(this.spec.compareWith ? { stable: samples[this.spec.compareWith]! } : {}),
        prometheus,
      });
      this.record({
        outcome: verdict.outcome,
        reason: verdict.reason,
        figures: verdict.figures,
        at: Date.now(),
        requests: samples[this.spec.targetRevision]!.requests,
        ...(verdict.providerError ? { providerError: true } : {}),
      });
    } catch (error) {
      this.unreadable(error);
    } finally {
      this.evaluating = false;
    }
  }

  private unreadable(error: unknown): void {
    this.record({ outcome: 'inconclusive', reason: `the router's figures could not be read: ${errorMessage(error)}`, at: Date.now(), providerError: true });
    this.logger.warn({ err: errorMessage(error) }, 'analysis could not read metrics');
  }

  private record(verdict: Verdict): void {
    this.latestVerdict = verdict;
    this.history.push(verdict);
    if (this.history.length > 120) this.history.shift();
    this.onVerdict();
  }
}
