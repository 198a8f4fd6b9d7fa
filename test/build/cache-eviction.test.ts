import { link, mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { archiveBytes, enforceDiskCeiling, measureDataUsage, planEviction, planLruEviction, type DiskEvictor, type LruCandidate } from '../../src/build/cache/index.js';
import { removeDir, tempDir, writeTree } from './tree-helpers.js';

const candidates = fc
  .uniqueArray(
    fc.record({ id: fc.stringMatching(/^e[0-9a-z]{1,4}$/), digest: fc.constantFrom('d1', 'd2', 'd3', 'd4', 'd5', 'd6'), lastUsedAt: fc.nat(50) }),
    { selector: (entry) => entry.id, maxLength: 12 },
  )
  // One archive has one size, whoever refers to it.
  .map((entries) => entries.map((entry): LruCandidate => ({ ...entry, size: Number(entry.digest.slice(1)) * 100 })));

describe('planLruEviction', () => {
  it('removes a least-recently-used prefix, just enough to fit, never a kept entry', () => {
    fc.assert(
      fc.property(candidates, fc.nat(2500), fc.func(fc.boolean()), (entries, target, isKept) => {
        const keep = new Set(entries.filter((entry) => isKept(entry.id)).map((entry) => entry.id));
        const plan = planLruEviction(entries, target, keep);
        const order = entries
          .filter((entry) => !keep.has(entry.id))
          .sort((a, b) => a.lastUsedAt - b.lastUsedAt || (a.id < b.id ? -1 : 1))
          .map((entry) => entry.id);
        expect(plan.remove).toEqual(order.slice(0, plan.remove.length));
        const left = entries.filter((entry) => !plan.remove.includes(entry.id));
        expect(plan.remainingBytes).toBe(archiveBytes(left));
        expect(plan.freedBytes).toBe(archiveBytes(entries) - archiveBytes(left));
        // Freed archives are exactly those no remaining entry uses.
        expect(new Set(plan.freedDigests)).toEqual(new Set(entries.map((entry) => entry.digest).filter((digest) => !left.some((entry) => entry.digest === digest))));
        if (plan.remainingBytes > target) expect(plan.remove).toHaveLength(order.length);
        if (plan.remove.length > 0) {
          // One fewer removal would not have been enough.
          const lastKept = new Set(plan.remove.slice(0, -1));
          expect(archiveBytes(entries.filter((entry) => !lastKept.has(entry.id)))).toBeGreaterThan(target);
        }
      }),
    );
  });

  it('frees a shared archive only with its last user', () => {
    const plan = planLruEviction(
      [
        { id: 'old', digest: 'shared', size: 100, lastUsedAt: 1 },
        { id: 'new', digest: 'shared', size: 100, lastUsedAt: 5 },
        { id: 'mid', digest: 'own', size: 50, lastUsedAt: 3 },
      ],
      60,
    );
    expect(plan).toEqual({ remove: ['old', 'mid', 'new'], freedDigests: ['own', 'shared'], freedBytes: 150, remainingBytes: 0 });
  });
});

const evictorLimits = fc.array(fc.record({ name: fc.stringMatching(/^[a-z]{1,6}$/), evictableBytes: fc.oneof(fc.nat(1000), fc.constant(Number.POSITIVE_INFINITY)) }), { maxLength: 5 });

describe('planEviction', () => {
  it('asks evictors in order, each for no more than it has, for exactly what is over the ceiling', () => {
    fc.assert(
      fc.property(fc.nat(5000), fc.nat(5000), evictorLimits, (used, ceiling, evictors) => {
        const plan = planEviction(used, ceiling, evictors);
        const over = Math.max(0, used - ceiling);
        const available = evictors.reduce((sum, evictor) => sum + evictor.evictableBytes, 0);
        const asked = plan.requests.reduce((sum, request) => sum + request.bytes, 0);
        expect(plan.bytesToFree).toBe(over);
        expect(asked).toBe(Math.min(over, available));
        expect(plan.shortfall).toBe(over - asked);
        if (over === 0) expect(plan.requests).toEqual([]);
        plan.requests.forEach((request, position) => {
          expect(request.bytes).toBeGreaterThan(0);
          expect(request.bytes).toBeLessThanOrEqual(evictors[request.index]!.evictableBytes);
          expect(request.name).toBe(evictors[request.index]!.name);
          if (position > 0) expect(request.index).toBeGreaterThan(plan.requests[position - 1]!.index);
          // A later evictor is asked only when every earlier one gives all it has.
          for (const earlier of evictors.slice(0, request.index)) {
            const given = plan.requests.find((other) => evictors[other.index] === earlier)?.bytes ?? 0;
            expect(given).toBe(earlier.evictableBytes);
          }
        });
      }),
    );
  });
});

let dataDir: string;
beforeEach(async () => {
  dataDir = await tempDir('maestro-disk-');
});
afterEach(async () => {
  await removeDir(dataDir);
});

describe('measureDataUsage', () => {
  it('counts only the listed folders, never following links or counting a hard link twice', async () => {
    const outside = await tempDir('maestro-disk-outside-');
    try {
      await writeTree(outside, { 'big.bin': Buffer.alloc(50_000) });
      await writeTree(dataDir, {
        'cache/a.bin': Buffer.alloc(1000),
        'cache/nested/b.bin': Buffer.alloc(500),
        'artifacts/c.bin': Buffer.alloc(300),
        'someone-elses/d.bin': Buffer.alloc(9999),
      });
      await symlink(outside, join(dataDir, 'cache/link-out'));
      await symlink(outside, join(dataDir, 'logs'));
      await link(join(dataDir, 'cache/a.bin'), join(dataDir, 'artifacts/a-again.bin'));
      const usage = await measureDataUsage(dataDir, ['cache', 'artifacts', 'logs', 'missing']);
      const linkBytes = outside.length; // a link's own size is its target's length
      expect(usage.folders).toEqual([
        // The hard-linked file counts once, in the folder measured first.
        { folder: 'artifacts', bytes: 300 + 1000 },
        { folder: 'cache', bytes: 500 + linkBytes },
        { folder: 'logs', bytes: 0 },
        { folder: 'missing', bytes: 0 },
      ]);
      expect(usage.totalBytes).toBe(1800 + linkBytes);
      await expect(measureDataUsage(dataDir, ['../etc'])).rejects.toThrow(/climbs out/);
      await expect(measureDataUsage(dataDir, ['.'])).rejects.toThrow(/names the data directory itself/);
    } finally {
      await removeDir(outside);
    }
  });
});

describe('enforceDiskCeiling', () => {
  /** An evictor deleting its own files from a folder, oldest name first, like the cache and artifacts do. */
  function folderEvictor(name: string, folder: string, files: string[], calls: string[]): DiskEvictor {
    const left = [...files];
    return {
      name,
      evictableBytes: async () => left.length * 1000,
      evict: async (bytes) => {
        calls.push(`${name}:${bytes}`);
        let freed = 0;
        while (freed < bytes && left.length > 0) {
          const file = left.shift()!;
          await removeDir(join(dataDir, folder, file));
          freed += 1000;
        }
        return freed;
      },
    };
  }

  it('asks the build cache first and old artifacts only for what is still over', async () => {
    const spec: Record<string, Buffer> = {};
    for (const file of ['c1', 'c2']) spec[`cache/${file}`] = Buffer.alloc(1000);
    for (const file of ['a1', 'a2', 'a3']) spec[`artifacts/${file}`] = Buffer.alloc(1000);
    await writeTree(dataDir, spec);
    const calls: string[] = [];
    const report = await enforceDiskCeiling({
      dataDir,
      ceilingBytes: 2500,
      evictors: [folderEvictor('build cache', 'cache', ['c1', 'c2'], calls), folderEvictor('artifacts', 'artifacts', ['a1', 'a2', 'a3'], calls)],
    });
    expect(calls).toEqual(['build cache:2000', 'artifacts:500']);
    expect(report.before.totalBytes).toBe(5000);
    expect(report.after.totalBytes).toBe(2000);
    expect(report.underCeiling).toBe(true);
    expect(report.steps).toEqual([
      { name: 'build cache', requestedBytes: 2000, freedBytes: 2000 },
      { name: 'artifacts', requestedBytes: 500, freedBytes: 1000 },
    ]);
  });

  it('does nothing under the ceiling, carries on past a failing evictor, and reports a shortfall', async () => {
    await writeTree(dataDir, { 'cache/x': Buffer.alloc(4000) });
    const calls: string[] = [];
    const idle = await enforceDiskCeiling({ dataDir, ceilingBytes: 10_000, evictors: [folderEvictor('build cache', 'cache', ['x'], calls)] });
    expect(idle).toMatchObject({ steps: [], underCeiling: true });
    expect(calls).toEqual([]);

    const broken: DiskEvictor = {
      name: 'broken',
      evict: async () => {
        throw new Error('disk on fire');
      },
    };
    const stingy: DiskEvictor = { name: 'stingy', evictableBytes: async () => 0, evict: async () => 0 };
    const report = await enforceDiskCeiling({ dataDir, ceilingBytes: 1000, evictors: [broken, stingy] });
    expect(report.steps).toEqual([{ name: 'broken', requestedBytes: 3000, freedBytes: 0, error: 'disk on fire' }]);
    expect(report.underCeiling).toBe(false);
    await expect(enforceDiskCeiling({ dataDir, ceilingBytes: -1, evictors: [] })).rejects.toThrow(/whole number of bytes/);
  });

  it('measures the default folders of the data directory and nothing beside them', async () => {
    await mkdir(join(dataDir, 'cache'), { recursive: true });
    await writeFile(join(dataDir, 'cache/x'), Buffer.alloc(100));
    await writeFile(join(dataDir, 'user-notes.bin'), Buffer.alloc(100_000));
    const report = await enforceDiskCeiling({ dataDir, ceilingBytes: 1000, evictors: [] });
    expect(report.before.totalBytes).toBe(100);
    expect(report.before.folders.map((usage) => usage.folder)).toContain('artifacts');
  });
});
