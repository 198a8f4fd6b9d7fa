import { createHash } from 'node:crypto';
import { chmod, lstat, mkdir, readdir, readFile, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BuildCache, formatCacheStats } from '../../src/build/cache/index.js';
import { listAll, removeDir, snapshotTree, tempDir, writeTree, type TreeSpec } from './tree-helpers.js';

const key = (name: string): string => createHash('sha256').update(name).digest('hex');

/** Deterministic bytes that do not compress. */
function noise(seed: string, size: number): Buffer {
  const blocks: Buffer[] = [];
  for (let index = 0; index * 32 < size; index += 1) blocks.push(createHash('sha256').update(`${seed}:${index}`).digest());
  return Buffer.concat(blocks).subarray(0, size);
}

/** A small node_modules as npm lays it out: packages, a .bin link, an executable, a workspace link. */
const NODE_MODULES: TreeSpec = {
  'node_modules/left-pad/package.json': '{"name":"left-pad","bin":"cli.js"}',
  'node_modules/left-pad/index.js': 'module.exports = (s) => s',
  'node_modules/left-pad/cli.js': { exec: '#!/usr/bin/env node\nconsole.log(1)\n' },
  'node_modules/.bin/left-pad': { link: '../left-pad/cli.js' },
  'node_modules/lib': { link: '../packages/lib' },
  'node_modules/empty': { dir: true },
  'packages/lib/index.js': 'module.exports = 1',
};

let base: string;
let cacheRoot: string;
let clock: number;
const now = (): number => clock;

beforeEach(async () => {
  base = await tempDir('maestro-cache-');
  cacheRoot = join(base, 'cache');
  clock = 1_000;
});
afterEach(async () => {
  await removeDir(base);
});

function openCache(maxBytes = 50 * 1024 * 1024): BuildCache {
  return new BuildCache({ root: cacheRoot, maxBytes, now });
}

async function project(name: string, spec: TreeSpec): Promise<string> {
  const dir = join(base, name);
  await mkdir(dir, { recursive: true });
  await writeTree(dir, spec);
  return dir;
}

/** Only the paths under `prefix`: restores put back cached folders, not the rest of a tree. */
function under(snapshot: Awaited<ReturnType<typeof snapshotTree>>, prefix: string): Record<string, unknown> {
  return Object.fromEntries(Object.entries(snapshot).filter(([path]) => path === prefix || path.startsWith(`${prefix}/`)));
}

async function blobFiles(): Promise<string[]> {
  return (await listAll(join(cacheRoot, 'blobs', 'sha256'))).filter((path) => path.includes('/'));
}

describe('dependency cache', () => {
  it('restores node_modules from a hit with its files, links and modes, and misses an unknown key', async () => {
    const cache = openCache();
    const built = await project('built', NODE_MODULES);
    const saved = await cache.saveDependencies(key('deps'), built, ['node_modules']);
    expect(saved).toMatchObject({ status: 'saved', evicted: 0 });
    expect(saved.bytes).toBeGreaterThan(0);

    const fresh = await project('fresh', { 'package.json': '{}', 'packages/lib/index.js': 'module.exports = 1' });
    expect(await cache.restoreDependencies(key('other'), fresh, ['node_modules'])).toBe('miss');
    expect(await cache.restoreDependencies(key('deps'), fresh, ['node_modules'])).toBe('hit');

    const want = under(await snapshotTree(built), 'node_modules');
    expect(under(await snapshotTree(fresh), 'node_modules')).toEqual(want);
    expect((await lstat(join(fresh, 'node_modules/left-pad/cli.js'))).mode & 0o777).toBe(0o755);
    expect(await readFile(join(fresh, 'node_modules/.bin/left-pad'), 'utf8')).toContain('console.log(1)');
    expect(await readFile(join(fresh, 'node_modules/lib/index.js'), 'utf8')).toBe('module.exports = 1');
    // Nothing of the staging folder is left behind.
    expect((await readdir(fresh)).sort()).toEqual(['node_modules', 'package.json', 'packages']);
  });

  it('restores several folders of a workspace and replaces what was there', async () => {
    const cache = openCache();
    const built = await project('built', {
      ...NODE_MODULES,
      'apps/web/node_modules/react/index.js': 'react 19',
      'apps/web/package.json': '{}',
    });
    const paths = ['node_modules', 'apps/web/node_modules', 'packages/lib/node_modules'];
    expect((await cache.saveDependencies(key('ws'), built, paths)).status).toBe('saved');

    const target = await project('target', {
      'apps/web/package.json': '{}',
      'apps/web/node_modules/stale/index.js': 'left by someone',
      'packages/lib/node_modules/stale.js': 'not in the entry',
      'packages/lib/index.js': 'module.exports = 1',
    });
    expect(await cache.restoreDependencies(key('ws'), target, [...paths].reverse())).toBe('hit');
    const restored = await snapshotTree(target);
    expect(under(restored, 'apps/web/node_modules')).toEqual(under(await snapshotTree(built), 'apps/web/node_modules'));
    expect(restored['apps/web/node_modules/stale/index.js']).toBeUndefined();
    // The package had no node_modules when saved: restoring exactly means it has none now.
    expect(restored['packages/lib/node_modules']).toBeUndefined();
    expect(restored['packages/lib/index.js']).toBeDefined();

    // Asking for another set of folders is another layout: a miss.
    expect(await cache.restoreDependencies(key('ws'), target, ['node_modules'])).toBe('miss');
  });

  it('replaces an entry saved with other folders, so a new layout is a hit from its second build on', async () => {
    const cache = openCache();
    const old = await project('old-layout', NODE_MODULES);
    expect((await cache.saveDependencies(key('deps'), old, ['node_modules'])).status).toBe('saved');
    const oldBlobs = await blobFiles();

    const moved = await project('new-layout', { 'source/node_modules/left-pad/index.js': 'module.exports = (s) => s' });
    const target = await project('target', {});
    expect(await cache.restoreDependencies(key('deps'), target, ['source/node_modules'])).toBe('miss');
    expect((await cache.saveDependencies(key('deps'), moved, ['source/node_modules'])).status).toBe('saved');
    expect(await cache.restoreDependencies(key('deps'), target, ['source/node_modules'])).toBe('hit');
    expect(await readFile(join(target, 'source/node_modules/left-pad/index.js'), 'utf8')).toBe('module.exports = (s) => s');
    // The replaced archive is gone with its entry.
    expect((await blobFiles()).filter((blob) => oldBlobs.includes(blob))).toEqual([]);
    expect((await cache.stats()).entries).toBe(1);
  });

  it('keeps links that leave the folder (a virtualenv\'s interpreter) by recreating them', async () => {
    const cache = openCache();
    const built = await project('built', { '.venv/lib/site.py': 'x', '.venv/pyvenv.cfg': 'home = /usr/bin' });
    await symlink('/usr/bin/python3', join(built, '.venv/python'));
    await symlink('python', join(built, '.venv/python3'));
    expect((await cache.saveDependencies(key('venv'), built, ['.venv'])).status).toBe('saved');
    const target = await project('target', { 'app.py': 'print(1)' });
    expect(await cache.restoreDependencies(key('venv'), target, ['.venv'])).toBe('hit');
    expect(await snapshotTree(join(target, '.venv'))).toEqual(await snapshotTree(join(built, '.venv')));
  });

  it('treats a damaged archive as a miss, removes it and never serves it', async () => {
    const cache = openCache();
    const built = await project('built', NODE_MODULES);
    const saved = await cache.saveDependencies(key('deps'), built, ['node_modules']);
    const blob = join(cacheRoot, 'blobs', 'sha256', saved.digest!.slice(0, 2), saved.digest!);
    await chmod(blob, 0o644);
    const bytes = await readFile(blob);
    bytes[bytes.length - 20] = bytes[bytes.length - 20]! ^ 0xff;
    await writeFile(blob, bytes);

    const target = await project('target', { 'package.json': '{}' });
    expect(await cache.restoreDependencies(key('deps'), target, ['node_modules'])).toBe('miss');
    expect(await listAll(join(target))).toEqual(['package.json']);
    expect(await blobFiles()).toEqual([]);
    expect(await cache.has('dependencies', key('deps'))).toBe(false);
    const stats = await cache.stats();
    expect(stats).toMatchObject({ entries: 0, corrupted: 1, misses: 1, hits: 0 });
    // Saved again, it is served again.
    expect((await cache.saveDependencies(key('deps'), built, ['node_modules'])).status).toBe('saved');
    expect(await cache.restoreDependencies(key('deps'), target, ['node_modules'])).toBe('hit');
  });

  it('refuses an archive swapped for another valid one: the checksum, not unpacking, decides', async () => {
    const cache = openCache();
    const a = await cache.saveDependencies(key('a'), await project('a', { 'node_modules/which.js': 'a' }), ['node_modules']);
    const b = await cache.saveDependencies(key('b'), await project('b', { 'node_modules/which.js': 'b' }), ['node_modules']);
    const blobOf = (digest: string): string => join(cacheRoot, 'blobs', 'sha256', digest.slice(0, 2), digest);
    await chmod(blobOf(a.digest!), 0o644);
    await writeFile(blobOf(a.digest!), await readFile(blobOf(b.digest!)));

    const target = await project('target', {});
    expect(await cache.restoreDependencies(key('a'), target, ['node_modules'])).toBe('miss');
    expect(await listAll(target)).toEqual([]);
    expect(await cache.has('dependencies', key('a'))).toBe(false);
    expect(await cache.restoreDependencies(key('b'), target, ['node_modules'])).toBe('hit');
    expect(await readFile(join(target, 'node_modules/which.js'), 'utf8')).toBe('b');
  });

  it('treats an archive deleted behind its back as a miss', async () => {
    const cache = openCache();
    const built = await project('built', NODE_MODULES);
    const saved = await cache.saveDependencies(key('deps'), built, ['node_modules']);
    await rm(join(cacheRoot, 'blobs', 'sha256', saved.digest!.slice(0, 2), saved.digest!));
    expect(await cache.restoreDependencies(key('deps'), await project('target', {}), ['node_modules'])).toBe('miss');
    expect(await cache.has('dependencies', key('deps'))).toBe(false);
    expect((await cache.stats()).corrupted).toBe(0);
  });

  it('skips saving what does not exist or cannot be archived, and refuses bad paths', async () => {
    const cache = openCache();
    const built = await project('built', { 'package.json': '{}' });
    expect(await cache.saveDependencies(key('none'), built, ['node_modules'])).toMatchObject({ status: 'skipped', reason: expect.stringMatching(/none of "node_modules" exists/) });
    await expect(cache.saveDependencies(key('bad'), built, ['../etc'])).rejects.toThrow(/climbs out/);
    await expect(cache.saveDependencies(key('bad'), built, ['node_modules', 'node_modules/x'])).rejects.toThrow(/is inside "node_modules"/);
    await expect(cache.saveDependencies('not-a-key', built, ['node_modules'])).rejects.toThrow(/cache key must be a sha256 digest/);
    await expect(cache.restoreDependencies(key('x'), built, [])).rejects.toThrow(/at least one path/);
    expect(() => new BuildCache({ root: cacheRoot, maxBytes: 0 })).toThrow(/whole number of bytes above 0/);
  });

  it('does not follow a link in the way of a cached path, on save or restore', async () => {
    const cache = openCache();
    const outside = await project('outside', { 'node_modules/secret.js': 'not ours' });
    const built = await project('built', {});
    await symlink(outside, join(built, 'apps'));
    expect((await cache.saveDependencies(key('linked'), built, ['apps/node_modules'])).status).toBe('skipped');

    const real = await project('real', { 'apps/node_modules/x.js': 'x' });
    expect((await cache.saveDependencies(key('real'), real, ['apps/node_modules'])).status).toBe('saved');
    const target = await project('target', {});
    await symlink(outside, join(target, 'apps'));
    await expect(cache.restoreDependencies(key('real'), target, ['apps/node_modules'])).rejects.toThrow(/"apps" in .* is not a folder/);
    expect(await readFile(join(outside, 'node_modules/secret.js'), 'utf8')).toBe('not ours');
  });
});

describe('build output cache', () => {
  it('lays the output over the source, leaving dependency folders alone', async () => {
    const cache = openCache();
    const built = await project('built', {
      'apps/web/package.json': '{}',
      'apps/web/src/index.ts': 'export {}',
      'apps/web/dist/index.js': 'built',
      'apps/web/dist/assets/app.css': 'body{}',
      'apps/web/node_modules/react/index.js': 'react',
      'apps/web/.git/HEAD': 'ref',
    });
    const saved = await cache.saveOutput(key('out'), built, ['apps/web']);
    expect(saved.status).toBe('saved');

    const target = await project('target', {
      'apps/web/package.json': '{}',
      'apps/web/src/index.ts': 'export {}',
      'apps/web/node_modules/react/index.js': 'react restored from the dependency cache',
      'apps/web/dist': { link: '/tmp' },
    });
    expect(await cache.restoreOutput(key('out'), target)).toBe('hit');
    const restored = await snapshotTree(target);
    expect(restored['apps/web/dist']).toMatchObject({ kind: 'dir' });
    expect(await readFile(join(target, 'apps/web/dist/assets/app.css'), 'utf8')).toBe('body{}');
    expect(await readFile(join(target, 'apps/web/node_modules/react/index.js'), 'utf8')).toBe('react restored from the dependency cache');
    expect(restored['apps/web/.git/HEAD']).toBeUndefined();
    expect(await cache.restoreOutput(key('missing'), target)).toBe('miss');
    expect((await cache.stats()).byKind.output).toMatchObject({ entries: 1, hits: 1, misses: 1, hitRate: 0.5 });
  });
});

describe('eviction, stats and concurrency', () => {
  /** Each archive is a little over `size`: noise does not compress. */
  async function savedEntry(cache: BuildCache, name: string, size: number): Promise<number> {
    const dir = await project(`p-${name}`, { [`node_modules/${name}.bin`]: noise(name, size) });
    const outcome = await cache.saveDependencies(key(name), dir, ['node_modules']);
    expect(outcome.status).toBe('saved');
    return outcome.bytes;
  }

  it('removes the least recently used entries first once over its size', async () => {
    const probe = openCache();
    const size = await savedEntry(probe, 'probe', 20_000);
    await probe.evict(0);
    // Room for three entries, not four.
    const cache = openCache(size * 3 + size / 2);
    for (const [index, name] of ['a', 'b', 'c'].entries()) {
      clock = 2_000 + index;
      await savedEntry(cache, name, 20_000);
    }
    // Using a makes b the least recently used.
    clock = 3_000;
    expect(await cache.restoreDependencies(key('a'), await project('use-a', {}), ['node_modules'])).toBe('hit');
    clock = 4_000;
    await savedEntry(cache, 'd', 20_000);
    expect(await cache.has('dependencies', key('b'))).toBe(false);
    for (const kept of ['a', 'c', 'd']) expect(await cache.has('dependencies', key(kept))).toBe(true);
    const stats = await cache.stats();
    expect(stats.entries).toBe(3);
    expect(stats.bytes).toBeLessThanOrEqual(cache.maxBytes);
    expect(stats.evictions).toBeGreaterThanOrEqual(2);
    expect(await blobFiles()).toHaveLength(3);

    // An explicit eviction goes on in the same order: c, then a.
    expect(await cache.evict(stats.bytes - 1)).toMatchObject({ removed: 1 });
    expect(await cache.has('dependencies', key('c'))).toBe(false);
    expect(await cache.has('dependencies', key('a'))).toBe(true);
  });

  it('refuses an entry larger than the whole cache instead of evicting everything for it', async () => {
    const cache = openCache(5_000);
    const dir = await project('big', { 'node_modules/big.bin': noise('big', 40_000) });
    expect(await cache.saveDependencies(key('big'), dir, ['node_modules'])).toMatchObject({ status: 'skipped', reason: expect.stringMatching(/larger than the whole cache/) });
    expect(await blobFiles()).toEqual([]);
  });

  it('does not keep what it could not unpack again', async () => {
    const cache = new BuildCache({ root: cacheRoot, maxBytes: 1024 ** 2, unpackLimits: { maxBytes: 1024 ** 2, maxFiles: 3 } });
    const dir = await project('many', { 'node_modules/a': 'a', 'node_modules/b': 'b', 'node_modules/c': 'c' });
    expect(await cache.saveDependencies(key('many'), dir, ['node_modules'])).toMatchObject({ status: 'skipped', reason: expect.stringMatching(/4 entries is over the limit/) });
    expect(await blobFiles()).toEqual([]);
  });

  it('keeps its counters across instances', async () => {
    const first = openCache();
    const built = await project('built', NODE_MODULES);
    await first.saveDependencies(key('deps'), built, ['node_modules']);
    await first.restoreDependencies(key('deps'), await project('t1', {}), ['node_modules']);
    await first.restoreDependencies(key('nope'), await project('t2', {}), ['node_modules']);
    await first.restoreOutput(key('nope'), await project('t3', {}));
    await first.evict(0);

    const second = openCache();
    const stats = await second.stats();
    expect(stats).toMatchObject({ entries: 0, bytes: 0, hits: 1, misses: 2, evictions: 1, corrupted: 0 });
    expect(stats.hitRate).toBeCloseTo(1 / 3);
    expect(stats.byKind.dependencies).toMatchObject({ hits: 1, misses: 1, hitRate: 0.5 });
    expect(stats.evictedBytes).toBeGreaterThan(0);
    const text = formatCacheStats(stats).join('\n');
    expect(text).toMatch(/dependencies\s+0\s+0 B\s+1\s+1\s+50\.0%/);
    expect(text).toMatch(/build output\s+0\s+0 B\s+0\s+1\s+0\.0%/);
    expect(text).toMatch(/evictions 1/);
  });

  it('saves the same key from concurrent pipelines once, without damaging the index', async () => {
    const cache = openCache();
    const other = openCache();
    const built = await project('built', NODE_MODULES);
    const outcomes = await Promise.all([
      ...Array.from({ length: 4 }, () => cache.saveDependencies(key('same'), built, ['node_modules'])),
      ...Array.from({ length: 4 }, () => other.saveDependencies(key('same'), built, ['node_modules'])),
      ...Array.from({ length: 4 }, (_, index) => cache.saveOutput(key(`out-${index}`), built, ['packages'])),
    ]);
    const same = outcomes.slice(0, 8);
    expect(same.filter((outcome) => outcome.status === 'saved')).toHaveLength(1);
    expect(same.every((outcome) => outcome.status === 'saved' || outcome.status === 'exists')).toBe(true);
    expect(new Set(same.map((outcome) => outcome.digest)).size).toBe(1);
    const stats = await openCache().stats();
    expect(stats.byKind).toMatchObject({ dependencies: { entries: 1 }, output: { entries: 4 } });
    // Four output entries share one archive: it is stored and counted once.
    expect(await blobFiles()).toHaveLength(2);
    JSON.parse(await readFile(join(cacheRoot, 'index.json'), 'utf8'));
    expect((await readdir(cacheRoot)).sort()).toEqual(['blobs', 'index.json']);

    // Concurrent restores count every lookup.
    const targets = await Promise.all(Array.from({ length: 5 }, (_, index) => project(`t${index}`, {})));
    expect(await Promise.all(targets.map((target) => other.restoreDependencies(key('same'), target, ['node_modules'])))).toEqual(Array(5).fill('hit'));
    expect((await cache.stats()).byKind.dependencies.hits).toBe(5);
  });

  it('verifies every entry and sweeps archives no entry refers to, once they are old', async () => {
    const cache = openCache();
    const built = await project('built', NODE_MODULES);
    const saved = await cache.saveDependencies(key('deps'), built, ['node_modules']);
    const orphanDir = join(cacheRoot, 'blobs', 'sha256', 'ab');
    await mkdir(orphanDir, { recursive: true });
    const orphan = join(orphanDir, `ab${'0'.repeat(62)}`);
    await writeFile(orphan, 'left by a crash');
    const partial = join(cacheRoot, 'blobs', 'tmp', 'x.part');
    await mkdir(join(cacheRoot, 'blobs', 'tmp'), { recursive: true });
    await writeFile(partial, 'half');
    const foreign = join(orphanDir, 'README');
    await writeFile(foreign, 'not an archive name: never touched');

    clock = Date.now();
    expect(await cache.verify()).toEqual({ checked: 1, removed: 0, orphansRemoved: 0, orphanBytes: 0 });
    const old = new Date(Date.now() - 2 * 3600_000);
    await utimes(orphan, old, old);
    await utimes(partial, old, old);
    await utimes(foreign, old, old);
    expect(await cache.verify()).toEqual({ checked: 1, removed: 0, orphansRemoved: 2, orphanBytes: 19 });
    expect(await readFile(foreign, 'utf8')).toContain('never touched');
    expect(await cache.has('dependencies', key('deps'))).toBe(true);

    const blob = join(cacheRoot, 'blobs', 'sha256', saved.digest!.slice(0, 2), saved.digest!);
    await chmod(blob, 0o644);
    await writeFile(blob, 'garbage');
    expect(await cache.verify()).toMatchObject({ checked: 1, removed: 1 });
    expect((await cache.stats()).corrupted).toBe(1);
  });

  it('starts over from a damaged index, keeping the damaged file aside', async () => {
    await mkdir(cacheRoot, { recursive: true });
    await writeFile(join(cacheRoot, 'index.json'), '{"version":1,"entr');
    const cache = openCache();
    expect(await cache.stats()).toMatchObject({ entries: 0, hits: 0 });
    const built = await project('built', NODE_MODULES);
    expect((await cache.saveDependencies(key('deps'), built, ['node_modules'])).status).toBe('saved');
    expect((await readdir(cacheRoot)).sort()).toEqual(['blobs', 'index.json', 'index.json.damaged']);
    expect(await cache.stats()).toMatchObject({ entries: 1 });
  });

  it('works as an evictor for the disk ceiling', async () => {
    const cache = openCache();
    await savedEntry(cache, 'a', 10_000);
    clock += 1;
    await savedEntry(cache, 'b', 10_000);
    const evictor = cache.evictor();
    const total = await evictor.evictableBytes!();
    expect(total).toBe((await cache.stats()).bytes);
    const freed = await evictor.evict(1);
    expect(freed).toBeGreaterThan(0);
    expect(await cache.has('dependencies', key('a'))).toBe(false);
    expect(await cache.has('dependencies', key('b'))).toBe(true);
  });
});
