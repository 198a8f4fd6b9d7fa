/**
 * One running analysis: every interval, sample the router (and Prometheus), judge, count. The judging is
 * evaluateChecks; this class only owns the timer, the sources and the consecutive counters.
 */
import { EventEmitter } from 'node:events';
import { errorMessage } from '../../common/index.js';
import type { RouterClient } from '../../router/index.js';
import { evaluateChecks } from './evaluate.js';
import { queryPrometheus } from './prometheus-source.js';
import { RouterMetricsSource } from './router-source.js';
import type { AnalysisCheck, Outcome, PromResult, Verdict } from './types.js';

export interface AnalysisRunOptions {
  checks: AnalysisCheck[];
  /** How often the checks are evaluated; default 1 s. */
  intervalMs?: number;
  /** Requests the target must serve before it can pass (or fail on anything short of overwhelming evidence). */
  minRequests: number;
  targetRevision: string;
  /** The stable revision to compare error rates against. */
  compareWith?: string;
  router: RouterClient;
  /** Restrict the router figures to this route. */
  labels?: { project?: string; service?: string; environment?: string };
  /** Base address of a Prometheus-compatible query API, for PromQL checks. */
  prometheusUrl?: string;
  prometheusTimeoutMs?: number;
  /** Failed verdicts in a row that end the run as failed; default 1. */
  failureLimit?: number;
  /** Inconclusive verdicts in a row that end the run as inconclusive; default: no limit. */
  inconclusiveLimit?: number;
  /** Evaluations in a row spoiled by a metric source failing that end the run as failed; default 5. */
  providerErrorLimit?: number;
  /** Verdicts kept for status; default 300. */
  historyLimit?: number;
  now?: () => number;
}

export interface AnalysisCounters {
  consecutiveFailures: number;
  consecutiveInconclusive: number;
  consecutiveProviderErrors: number;
  evaluations: number;
}

export interface VerdictRecord {
  at: number;
  verdict: Verdict;
}

export type AnalysisState = 'idle' | 'running' | 'passing' | 'stopped' | 'failed' | 'inconclusive';

/** What `maestro rollout status` shows of an analysis. */
export interface AnalysisStatus {
  state: AnalysisState;
  targetRevision: string;
  compareWith?: string;
  startedAt?: number;
  counters: AnalysisCounters;
  latest?: VerdictRecord;
  /** Set once a limit ended the run. */
  result?: Verdict;
}

export interface AnalysisRunEvents {
  verdict: [record: VerdictRecord, counters: AnalysisCounters];
  /** A limit was reached and the run stopped itself; the verdict says why. */
  end: [result: Verdict];
}

export class AnalysisRun extends EventEmitter<AnalysisRunEvents> {
  private readonly source: RouterMetricsSource;
  private readonly now: () => number;
  private readonly intervalMs: number;
  private readonly records: VerdictRecord[] = [];
  private readonly counters: AnalysisCounters = { consecutiveFailures: 0, consecutiveInconclusive: 0, consecutiveProviderErrors: 0, evaluations: 0 };
  private state: AnalysisState = 'idle';
  private startedAt: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private abort = new AbortController();
  private result: Verdict | undefined;

  constructor(private readonly options: AnalysisRunOptions) {
    super();
    if (options.checks.length === 0) throw new RangeError('an analysis needs at least one check');
    if (options.checks.some((check) => 'prometheus' in check) && !options.prometheusUrl) {
      throw new RangeError('a prometheus check needs the address of a Prometheus query API (prometheusUrl)');
    }
    this.now = options.now ?? Date.now;
    this.intervalMs = options.intervalMs ?? 1000;
    if (!(this.intervalMs > 0)) throw new RangeError(`the analysis interval must be positive, got ${this.intervalMs} ms`);
    this.source = new RouterMetricsSource({ router: options.router, labels: options.labels, now: this.now });
  }

  /** Begin counting from now and evaluate every interval until stop() or a limit. */
  start(): void {
    if (this.state !== 'idle') return;
    this.state = 'running';
    this.startedAt = this.now();
    this.schedule(0);
  }

  /** Stop evaluating; waits for an evaluation under way. */
  async stop(): Promise<void> {
    if (this.state === 'running' || this.state === 'passing') this.state = 'stopped';
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.abort.abort();
    await this.inFlight;
  }

  latest(): Verdict | undefined {
    return this.records.at(-1)?.verdict;
  }

  history(): VerdictRecord[] {
    return [...this.records];
  }

  status(): AnalysisStatus {
    return {
      state: this.state,
      targetRevision: this.options.targetRevision,
      ...(this.options.compareWith ? { compareWith: this.options.compareWith } : {}),
      ...(this.startedAt !== undefined ? { startedAt: this.startedAt } : {}),
      counters: { ...this.counters },
      ...(this.records.length > 0 ? { latest: this.records.at(-1)! } : {}),
      ...(this.result ? { result: this.result } : {}),
    };
  }

  /** Evaluate once now (the timer calls this; tests and on-demand checks may too). */
  async evaluate(): Promise<Verdict> {
    const verdict = await this.judge();
    this.record(verdict);
    return verdict;
  }

  private active(): boolean {
    return this.state === 'running' || this.state === 'passing';
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.inFlight = this.evaluate()
        .then(() => undefined)
        .finally(() => {
          this.inFlight = undefined;
          if (this.active()) this.schedule(this.intervalMs);
        });
    }, delayMs);
  }

  private async judge(): Promise<Verdict> {
    try {
      if (!this.source.started) await this.source.start();
    } catch (error) {
      return sourceDown(`could not take the router's starting counters: ${errorMessage(error)}`);
    }
    const revisions = [this.options.targetRevision, ...(this.options.compareWith ? [this.options.compareWith] : [])];
    const [samples, prometheus] = await Promise.all([
      this.source.sample(revisions).catch((error: unknown) => error instanceof Error ? error : new Error(String(error))),
      this.queryPrometheus(),
    ]);
    if (samples instanceof Error) return sourceDown(`could not read the router's figures: ${errorMessage(samples)}`);
    return evaluateChecks({
      checks: this.options.checks,
      minRequests: this.options.minRequests,
      target: samples[this.options.targetRevision]!,
      ...(this.options.compareWith ? { stable: samples[this.options.compareWith]! } : {}),
      ...(prometheus ? { prometheus } : {}),
    });
  }

  private async queryPrometheus(): Promise<Record<string, PromResult> | undefined> {
    const queries = [...new Set(this.options.checks.flatMap((check) => ('prometheus' in check ? [check.prometheus] : [])))];
    if (queries.length === 0 || !this.options.prometheusUrl) return undefined;
    const url = this.options.prometheusUrl;
    const answers = await Promise.all(
      queries.map((query) => queryPrometheus(url, query, { timeoutMs: this.options.prometheusTimeoutMs ?? Math.max(1000, this.intervalMs), signal: this.abort.signal })),
    );
    return Object.fromEntries(queries.map((query, index) => [query, answers[index]!]));
  }

  private record(verdict: Verdict): void {
    const record: VerdictRecord = { at: this.now(), verdict };
    this.records.push(record);
    const keep = this.options.historyLimit ?? 300;
    if (this.records.length > keep) this.records.splice(0, this.records.length - keep);

    const counters = this.counters;
    counters.evaluations += 1;
    const kind: Outcome | 'provider_error' = verdict.outcome === 'inconclusive' && verdict.providerError ? 'provider_error' : verdict.outcome;
    // Each counter counts its kind of verdict in a row: any other kind of verdict breaks the run.
    counters.consecutiveFailures = kind === 'fail' ? counters.consecutiveFailures + 1 : 0;
    counters.consecutiveInconclusive = kind === 'inconclusive' ? counters.consecutiveInconclusive + 1 : 0;
    counters.consecutiveProviderErrors = kind === 'provider_error' ? counters.consecutiveProviderErrors + 1 : 0;
    if (this.active()) this.state = kind === 'pass' ? 'passing' : 'running';
    this.emit('verdict', record, { ...counters });
    if (!this.active() || this.result) return;

    const failureLimit = this.options.failureLimit ?? 1;
    const providerErrorLimit = this.options.providerErrorLimit ?? 5;
    const inconclusiveLimit = this.options.inconclusiveLimit;
    if (counters.consecutiveFailures >= failureLimit) {
      this.finish('failed', {
        ...verdict,
        reason: failureLimit === 1 ? verdict.reason : `${counters.consecutiveFailures} failed evaluations in a row (failure limit ${failureLimit}): ${verdict.reason}`,
      });
    } else if (counters.consecutiveProviderErrors >= providerErrorLimit) {
      this.finish('failed', {
        ...verdict,
        outcome: 'fail',
        reason: `the metric source failed ${counters.consecutiveProviderErrors} evaluations in a row (provider error limit ${providerErrorLimit}): ${verdict.reason}`,
      });
    } else if (inconclusiveLimit !== undefined && counters.consecutiveInconclusive >= inconclusiveLimit) {
      this.finish('inconclusive', {
        ...verdict,
        reason: `${counters.consecutiveInconclusive} inconclusive evaluations in a row (inconclusive limit ${inconclusiveLimit}): ${verdict.reason}`,
      });
    }
  }

  private finish(state: 'failed' | 'inconclusive', result: Verdict): void {
    this.state = state;
    this.result = result;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.emit('end', result);
  }
}

function sourceDown(reason: string): Verdict {
  return { outcome: 'inconclusive', reason, figures: {}, checks: [], providerError: true };
}
