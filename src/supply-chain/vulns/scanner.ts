import { errorMessage, type Logger } from '../../common/index.js';
import type { VulnerabilityScansRepository } from '../../store/index.js';
import { combineAnswers, type AnsweredSource } from './combine.js';
import { componentsDigest, normaliseComponents } from './components.js';
import { NpmBulkAdvisorySource, type NpmBulkSourceOptions } from './npm-bulk-source.js';
import { OsvAdvisorySource, type AdvisoriesStatus } from './osv-source.js';
import { memoryScanCache, type AdvisorySource, type ScanCache } from './source.js';
import type { ScannedComponent, VulnerabilityScanResult } from './types.js';

export interface VulnerabilityScannerOptions {
  /** OSV advisories: a folder of *.json (searched recursively), or osv.dev's all.zip, or a .tar.gz. */
  advisories?: string;
  /** Also ask npm's bulk advisory endpoint (optional by default: see NpmBulkSourceOptions.required). */
  npmRegistry?: NpmBulkSourceOptions;
  /** Other sources, after these two (tests, other databases). */
  sources?: AdvisorySource[];
  /** Where scans are kept by build and answers cached; without it, an in-memory cache and nothing kept. */
  store?: { vulnerabilityScans: VulnerabilityScansRepository };
  logger?: Logger;
  now?: () => Date;
}

/**
 * Scans a build's components against advisory sources. Each source's answer is cached by the components'
 * digest and the advisories' digest (an online source's for a while), so a rebuild with the same lockfile
 * costs a lookup, and new advisories are never hidden by an old answer.
 */
export class VulnerabilityScanner {
  readonly sources: readonly AdvisorySource[];
  private readonly osv: OsvAdvisorySource | undefined;
  private readonly cache: ScanCache;
  private readonly now: () => Date;

  constructor(private readonly options: VulnerabilityScannerOptions = {}) {
    this.now = options.now ?? (() => new Date());
    this.osv = options.advisories ? new OsvAdvisorySource({ path: options.advisories, now: this.now }) : undefined;
    this.sources = [
      ...(this.osv ? [this.osv] : []),
      ...(options.npmRegistry ? [new NpmBulkAdvisorySource(options.npmRegistry)] : []),
      ...(options.sources ?? []),
    ];
    const repository = options.store?.vulnerabilityScans;
    this.cache = repository
      ? { get: (key, maxAgeMs) => repository.cached(key, maxAgeMs), put: (key, value) => repository.cache(key, value) }
      : memoryScanCache();
  }

  /**
   * Scans components (validated; duplicates count once). Never throws for a source's failure: the result
   * says `unavailable` and why. Throws only for components that are not {ecosystem, name, version, purl}.
   */
  async scan(components: readonly ScannedComponent[], options: { signal?: AbortSignal } = {}): Promise<VulnerabilityScanResult> {
    const normalised = normaliseComponents(components);
    const digest = componentsDigest(normalised);
    const answers: AnsweredSource[] = await Promise.all(
      this.sources.map(async (source) => {
        const answer = await source
          .query({ components: normalised, componentsDigest: digest, cache: this.cache, ...(options.signal ? { signal: options.signal } : {}) })
          .catch((error: unknown) => ({ status: 'unavailable' as const, reason: `failed: ${errorMessage(error)}`, cached: false }));
        return { name: source.name, required: source.required, answer };
      }),
    );
    const result = combineAnswers({ components: normalised, componentsDigest: digest, answers, scannedAt: this.now() });
    if (result.status === 'unavailable') this.options.logger?.warn({ reason: result.reason }, 'vulnerability scan unavailable');
    return result;
  }

  /** Scans a build's components and keeps the result as that build's scan (replacing an earlier one). */
  async scanBuild(buildId: string, components: readonly ScannedComponent[], options: { signal?: AbortSignal } = {}): Promise<VulnerabilityScanResult> {
    const result = await this.scan(components, options);
    await this.options.store?.vulnerabilityScans.save({ buildId, status: result.status, result });
    return result;
  }

  /** Reads the OSV advisories again; undefined when none are configured. */
  async reloadAdvisories(): Promise<AdvisoriesStatus | undefined> {
    return this.osv?.reload();
  }

  /** The OSV advisories as last read (loading them if never read); undefined when none are configured. */
  async advisoriesStatus(): Promise<AdvisoriesStatus | undefined> {
    if (!this.osv) return undefined;
    await this.osv.current();
    return this.osv.status();
  }
}
