import { createHash } from 'node:crypto';
import type { ScannedComponent, UnscannedComponent, VulnerabilityFinding } from './types.js';

/** What one advisory source answered for a set of components. */
export type SourceAnswer =
  | {
      status: 'ok';
      findings: VulnerabilityFinding[];
      /** Components this source could not check (another source may have). */
      unscanned: UnscannedComponent[];
      problems: string[];
      advisoriesDigest?: string;
      advisories?: number;
    }
  | { status: 'unavailable'; reason: string };

/** Keeps answers by key; `maxAgeMs` refuses older ones (for sources whose data changes without a digest). */
export interface ScanCache {
  get(key: string, maxAgeMs?: number): Promise<unknown>;
  put(key: string, value: unknown): Promise<void>;
}

export interface SourceQuery {
  components: readonly ScannedComponent[];
  /** See componentsDigest: the components' part of a cache key. */
  componentsDigest: string;
  cache: ScanCache;
  signal?: AbortSignal;
}

/** Somewhere advisories come from: OSV files, npm's registry. */
export interface AdvisorySource {
  readonly name: string;
  /** Whether the scan is unavailable when this source is. */
  readonly required: boolean;
  /** Never throws: a source that cannot answer says so. */
  query(query: SourceQuery): Promise<SourceAnswer & { cached: boolean }>;
}

/** Bump when matching changes, so answers cached by an older Maestro are not served. */
export const MATCHER_VERSION = 1;

export function cacheKey(parts: Record<string, string | number>): string {
  return createHash('sha256').update(JSON.stringify({ matcher: MATCHER_VERSION, ...parts })).digest('hex');
}

/** A cached answer read back from the database, if it still has the shape of one. */
export function cachedAnswer(value: unknown): (SourceAnswer & { status: 'ok' }) | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const answer = value as Record<string, unknown>;
  if (answer.status !== 'ok' || !Array.isArray(answer.findings) || !Array.isArray(answer.unscanned) || !Array.isArray(answer.problems)) return undefined;
  return value as SourceAnswer & { status: 'ok' };
}

/** An in-memory cache, for scanners without a store (tests, one-off scans). */
export function memoryScanCache(now: () => number = Date.now): ScanCache {
  const entries = new Map<string, { value: unknown; at: number }>();
  return {
    async get(key, maxAgeMs) {
      const entry = entries.get(key);
      if (!entry || (maxAgeMs !== undefined && now() - entry.at > maxAgeMs)) return undefined;
      return structuredClone(entry.value);
    },
    async put(key, value) {
      entries.set(key, { value: structuredClone(value), at: now() });
    },
  };
}
