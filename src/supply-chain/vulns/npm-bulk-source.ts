import { MaestroError, errorMessage } from '../../common/index.js';
import { bulkRequestBody, readBulkAnswer } from './npm-bulk.js';
import { cacheKey, cachedAnswer, type AdvisorySource, type SourceAnswer, type SourceQuery } from './source.js';

export const DEFAULT_NPM_REGISTRY = 'https://registry.npmjs.org';
const BULK_PATH = '-/npm/v1/security/advisories/bulk';

export interface NpmBulkSourceOptions {
  /** The registry, as `npm config get registry` gives it (a path is kept: https://host/api/npm/npm/). */
  registry?: string;
  /** Whether the scan is unavailable when the registry cannot answer (default false: it only marks itself). */
  required?: boolean;
  /** How long to wait for the registry (default 15 s). */
  timeoutMs?: number;
  /** How long an answer is reused for the same components (default 1 h): the registry's data has no digest. */
  cacheForMs?: number;
}

/** The endpoint for a registry URL, the way npm joins paths to its registry setting. */
export function bulkAdvisoryUrl(registry: string): string {
  let base: URL;
  try {
    base = new URL(registry);
  } catch {
    throw new MaestroError('validation_error', `the npm registry ${JSON.stringify(registry)} is not a URL (e.g. ${DEFAULT_NPM_REGISTRY})`);
  }
  if (base.protocol !== 'https:' && base.protocol !== 'http:') throw new MaestroError('validation_error', `the npm registry ${registry} must be an http or https URL`);
  if (!base.pathname.endsWith('/')) base.pathname += '/';
  return new URL(BULK_PATH, base).toString();
}

/**
 * npm's registry as a second, optional advisory source. Registries that do not offer the endpoint (many
 * mirrors answer 405 or 404), errors, timeouts and answers of the wrong shape make it unavailable, which
 * fails the scan only when it is required.
 */
export class NpmBulkAdvisorySource implements AdvisorySource {
  readonly name = 'npm-registry';
  readonly required: boolean;
  readonly url: string;
  private readonly timeoutMs: number;
  private readonly cacheForMs: number;

  constructor(options: NpmBulkSourceOptions = {}) {
    this.url = bulkAdvisoryUrl(options.registry ?? DEFAULT_NPM_REGISTRY);
    this.required = options.required ?? false;
    this.timeoutMs = options.timeoutMs ?? 15_000;
    this.cacheForMs = options.cacheForMs ?? 3_600_000;
  }

  async query(query: SourceQuery): Promise<SourceAnswer & { cached: boolean }> {
    const body = bulkRequestBody(query.components);
    if (Object.keys(body).length === 0) {
      // No npm packages: nothing to ask; the others are listed as not scanned by this source.
      const reading = readBulkAnswer({}, query.components, this.name);
      return { status: 'ok', findings: [], unscanned: reading.ok ? reading.unscanned : [], problems: [], cached: false };
    }
    const key = cacheKey({ source: 'npm-registry', url: this.url, components: query.componentsDigest });
    const hit = cachedAnswer(await query.cache.get(key, this.cacheForMs).catch(() => undefined));
    if (hit) return { ...hit, cached: true };

    const answer = await this.ask(body, query.signal);
    if (!answer.ok) return { status: 'unavailable', reason: answer.reason, cached: false };
    const reading = readBulkAnswer(answer.json, query.components, this.name);
    if (!reading.ok) return { status: 'unavailable', reason: `${this.url} answered 200, but ${reading.reason}`, cached: false };
    const result: SourceAnswer & { status: 'ok' } = { status: 'ok', findings: reading.findings, unscanned: reading.unscanned, problems: reading.problems };
    await query.cache.put(key, result).catch(() => undefined);
    return { ...result, cached: false };
  }

  private async ask(body: Record<string, string[]>, signal?: AbortSignal): Promise<{ ok: true; json: unknown } | { ok: false; reason: string }> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    try {
      const response = await fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify(body),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
      const text = await response.text();
      if (!response.ok) {
        const said = text.trim().split('\n')[0]?.slice(0, 200);
        const meaning = response.status === 404 || response.status === 405 ? ' (this registry does not offer npm audit advisories)' : '';
        return { ok: false, reason: `${this.url} answered ${response.status}${meaning}${said ? `: ${said}` : ''}` };
      }
      try {
        return { ok: true, json: JSON.parse(text) };
      } catch {
        return { ok: false, reason: `${this.url} answered 200 with something that is not JSON` };
      }
    } catch (error) {
      if (timeout.aborted) return { ok: false, reason: `${this.url} did not answer within ${this.timeoutMs} ms` };
      if (signal?.aborted) return { ok: false, reason: 'the scan was cancelled' };
      const cause = (error as { cause?: unknown }).cause;
      return { ok: false, reason: `cannot reach ${this.url}: ${errorMessage(cause ?? error)}` };
    }
  }
}
