import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_REMOTE_CACHE_SETTINGS,
  artifactLimit,
  isCacheHash,
  limitBody,
  planEviction,
  remoteCacheSettingsFromEnv,
  turboNamespace,
  type EvictionCandidate,
} from '../../src/build/remote-cache/index.js';
import { parseArtifactDuration, parseArtifactTag } from '../../src/build/remote-cache/artifact-headers.js';
import { roleAllows } from '../../src/identity/index.js';

const NOW = new Date('2026-06-01T12:00:00Z');

const candidates = fc
  .array(
    fc.record({
      projectId: fc.constantFrom('prj_a', 'prj_b', 'prj_c'),
      sizeBytes: fc.integer({ min: 0, max: 1000 }),
      ageMs: fc.integer({ min: 0, max: 100_000 }),
    }),
    { maxLength: 40 },
  )
  .map((rows) =>
    rows.map((row, index): EvictionCandidate => ({
      id: index + 1,
      projectId: row.projectId,
      sizeBytes: row.sizeBytes,
      lastAccessAt: new Date(NOW.getTime() - row.ageMs),
    })),
  );

const policies = fc.record({
  maxBytes: fc.option(fc.integer({ min: 0, max: 20_000 }), { nil: undefined }),
  namespaceQuotaBytes: fc.option(fc.integer({ min: 0, max: 10_000 }), { nil: undefined }),
  maxAgeMs: fc.option(fc.integer({ min: 0, max: 100_000 }), { nil: undefined }),
});

const newer = (a: EvictionCandidate, b: EvictionCandidate): boolean =>
  a.lastAccessAt.getTime() > b.lastAccessAt.getTime() || (a.lastAccessAt.getTime() === b.lastAccessAt.getTime() && a.id > b.id);
const bytes = (entries: EvictionCandidate[]): number => entries.reduce((sum, entry) => sum + entry.sizeBytes, 0);

describe('eviction plan', () => {
  it('leaves the cache within every limit, keeping nothing idle too long', () => {
    fc.assert(
      fc.property(candidates, policies, (entries, policy) => {
        const evicted = new Set(planEviction(entries, { ...policy, now: NOW }));
        const kept = entries.filter((entry) => !evicted.has(entry.id));
        if (policy.maxBytes !== undefined) expect(bytes(kept)).toBeLessThanOrEqual(policy.maxBytes);
        if (policy.namespaceQuotaBytes !== undefined) {
          for (const project of ['prj_a', 'prj_b', 'prj_c']) {
            expect(bytes(kept.filter((entry) => entry.projectId === project))).toBeLessThanOrEqual(policy.namespaceQuotaBytes);
          }
        }
        if (policy.maxAgeMs !== undefined) {
          for (const entry of kept) expect(NOW.getTime() - entry.lastAccessAt.getTime()).toBeLessThanOrEqual(policy.maxAgeMs);
        }
      }),
    );
  });

  it('is least-recently-used: an evicted entry never outlived a kept one of its namespace, when only size counts', () => {
    fc.assert(
      fc.property(candidates, fc.integer({ min: 0, max: 5_000 }), (entries, quota) => {
        const evicted = new Set(planEviction(entries, { namespaceQuotaBytes: quota, now: NOW }));
        for (const gone of entries.filter((entry) => evicted.has(entry.id))) {
          for (const kept of entries.filter((entry) => !evicted.has(entry.id) && entry.projectId === gone.projectId)) {
            expect(newer(kept, gone)).toBe(true);
          }
        }
      }),
    );
  });

  it('evicts nothing when everything fits, and only what it must when one namespace is over', () => {
    fc.assert(
      fc.property(candidates, (entries) => {
        expect(planEviction(entries, { maxBytes: bytes(entries), namespaceQuotaBytes: bytes(entries), now: NOW })).toEqual([]);
        expect(planEviction(entries, { now: NOW })).toEqual([]);
      }),
    );
    const at = (ms: number): Date => new Date(NOW.getTime() - ms);
    const entries: EvictionCandidate[] = [
      { id: 1, projectId: 'prj_a', sizeBytes: 100, lastAccessAt: at(3000) },
      { id: 2, projectId: 'prj_a', sizeBytes: 100, lastAccessAt: at(2000) },
      { id: 3, projectId: 'prj_a', sizeBytes: 100, lastAccessAt: at(1000) },
      { id: 4, projectId: 'prj_b', sizeBytes: 500, lastAccessAt: at(5000) },
    ];
    expect(planEviction(entries, { namespaceQuotaBytes: 250, now: NOW })).toEqual([1, 4]);
    expect(planEviction(entries, { maxBytes: 250, now: NOW })).toEqual([1, 4]);
    expect(planEviction(entries, { maxAgeMs: 2500, now: NOW })).toEqual([1, 4]);
  });
});

describe('cache keys and namespaces', () => {
  it('accepts turbo and nx hashes and nothing that could be a path or header trick', () => {
    expect(isCacheHash('7501e74b222309d7')).toBe(true);
    expect(isCacheHash('11785424389410358069')).toBe(true);
    expect(isCacheHash('a'.repeat(100))).toBe(true);
    for (const bad of ['', 'a'.repeat(101), 'a/b', '../x', 'a b', 'a%2Fb', 'é', 'a\nb']) expect(isCacheHash(bad), bad).toBe(false);
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        expect(isCacheHash(text)).toBe(text.length >= 1 && text.length <= 100 && /^[A-Za-z0-9._-]+$/.test(text));
      }),
    );
  });

  it('names the project from turbo\'s slug, or its team id without the team_ prefix', () => {
    expect(turboNamespace({ slug: 'web' })).toBe('web');
    expect(turboNamespace({ slug: 'web', teamId: 'team_other' })).toBe('web');
    expect(turboNamespace({ teamId: 'team_shop' })).toBe('shop');
    expect(() => turboNamespace({})).toThrow(/set TURBO_TEAM to the Maestro project/);
    expect(() => turboNamespace({ slug: 'My_Team' })).toThrow(/slug \(TURBO_TEAM\) "My_Team" is not a Maestro project name/);
  });

  it('lets read-only roles read but not write, by the one permission matrix', () => {
    for (const role of ['viewer', 'cache-reader']) {
      expect([roleAllows(role, 'cache:read'), roleAllows(role, 'cache:write')]).toEqual([true, false]);
    }
    for (const role of ['owner', 'admin', 'developer']) expect(roleAllows(role, 'cache:write')).toBe(true);
    expect(roleAllows('ci', 'cache:read')).toBe(false);
  });
});

describe('settings and headers', () => {
  it('reads limits from the environment and says how to fix a bad one', () => {
    expect(remoteCacheSettingsFromEnv({})).toEqual(DEFAULT_REMOTE_CACHE_SETTINGS);
    const settings = remoteCacheSettingsFromEnv({
      MAESTRO_REMOTE_CACHE_MAX_ARTIFACT: '64Mi',
      MAESTRO_REMOTE_CACHE_QUOTA: '1Gi',
      MAESTRO_REMOTE_CACHE_MAX_TOTAL: '32Mi',
      MAESTRO_REMOTE_CACHE_MAX_AGE: '7d',
      MAESTRO_REMOTE_CACHE_NX_PROJECT: 'monorepo',
    });
    expect(settings).toEqual({
      maxArtifactBytes: 64 * 1024 ** 2,
      namespaceQuotaBytes: 1024 ** 3,
      maxTotalBytes: 32 * 1024 ** 2,
      maxAgeMs: 7 * 86_400_000,
      nxNamespace: 'monorepo',
    });
    expect(artifactLimit(settings)).toBe(32 * 1024 ** 2);
    expect(() => remoteCacheSettingsFromEnv({ MAESTRO_REMOTE_CACHE_QUOTA: 'lots' })).toThrow(/MAESTRO_REMOTE_CACHE_QUOTA="lots" is not a size: write it like 512Mi/);
    expect(() => remoteCacheSettingsFromEnv({ MAESTRO_REMOTE_CACHE_MAX_AGE: 'forever' })).toThrow(/is not a duration: write it like 7d/);
    expect(() => remoteCacheSettingsFromEnv({ MAESTRO_REMOTE_CACHE_NX_PROJECT: 'Not OK' })).toThrow(/not a Maestro project name/);
  });

  it('parses turbo\'s duration and keeps its tag verbatim', () => {
    expect(parseArtifactDuration(undefined)).toBeUndefined();
    expect(parseArtifactDuration('1234')).toBe(1234);
    expect(() => parseArtifactDuration('12.5')).toThrow(/x-artifact-duration must be a whole number of milliseconds/);
    expect(() => parseArtifactDuration('-1')).toThrow(/x-artifact-duration/);
    expect(parseArtifactTag('aGVsbG8+/w==')).toBe('aGVsbG8+/w==');
    expect(parseArtifactTag('')).toBeUndefined();
    expect(() => parseArtifactTag('x'.repeat(2000))).toThrow(/at most 1024/);
  });
});

describe('upload limit', () => {
  async function drain(source: AsyncIterable<Uint8Array>): Promise<number> {
    let total = 0;
    for await (const chunk of source) total += chunk.length;
    return total;
  }
  async function* chunks(sizes: number[]): AsyncGenerator<Uint8Array> {
    for (const size of sizes) yield new Uint8Array(size);
  }

  it('passes bodies up to the limit and stops the first byte past it', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 20 }), fc.integer({ min: 1, max: 600 }), async (sizes, limit) => {
        const total = sizes.reduce((a, b) => a + b, 0);
        const result = drain(limitBody(chunks(sizes), limit));
        if (total <= limit) expect(await result).toBe(total);
        else await expect(result).rejects.toMatchObject({ code: 'payload_too_large' });
      }),
    );
  });

  it('refuses a body shorter than its Content-Length, a declared size over the limit, and an empty body', async () => {
    await expect(drain(limitBody(chunks([10]), 100, 20))).rejects.toThrow(/the body had 10 bytes but Content-Length said 20/);
    await expect(drain(limitBody(chunks([10]), 100, 200))).rejects.toMatchObject({ code: 'payload_too_large' });
    await expect(drain(limitBody(chunks([]), 100))).rejects.toThrow(/the artifact is empty/);
    expect(await drain(limitBody(chunks([10, 10]), 100, 20))).toBe(20);
    async function* hangsUp(): AsyncGenerator<Uint8Array> {
      yield new Uint8Array(10);
      throw Object.assign(new Error('aborted'), { code: 'ECONNRESET' });
    }
    await expect(drain(limitBody(hangsUp(), 100))).rejects.toMatchObject({ code: 'bad_request', message: expect.stringContaining('the upload stopped after 10 bytes') });
  });
});
