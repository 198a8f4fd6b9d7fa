import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Project, Store } from '../../src/store/index.js';
import { drivers, type TestDatabase } from './harness.js';

const digest = (c: string): string => c.repeat(64);

for (const driver of drivers) {
  describe.skipIf(!driver.enabled)(`remote cache entries on ${driver.name}`, () => {
    let database: TestDatabase;
    let store: Store;
    let counter = 0;
    const project = async (): Promise<Project> => store.projects.ensure(`cache-${++counter}`);

    beforeAll(async () => {
      database = await driver.create();
      store = await database.open();
    });

    afterAll(async () => {
      await store?.close();
      await database?.cleanup();
    });

    it('stores, reads back unchanged, and replaces an entry saying which blob it named', async () => {
      const { id: projectId } = await project();
      const first = await store.remoteCache.put({ projectId, hash: 'abc123', digest: digest('a'), sizeBytes: 10, durationMs: 1234, tag: 'sig+/=' });
      expect(first.replacedDigest).toBeUndefined();
      const read = await store.remoteCache.get(projectId, 'abc123');
      expect(read).toMatchObject({ projectId, hash: 'abc123', digest: digest('a'), sizeBytes: 10, durationMs: 1234, tag: 'sig+/=' });
      expect(read!.lastAccessAt).toBeInstanceOf(Date);

      const second = await store.remoteCache.put({ projectId, hash: 'abc123', digest: digest('b'), sizeBytes: 20 });
      expect(second.replacedDigest).toBe(digest('a'));
      const replaced = await store.remoteCache.get(projectId, 'abc123');
      expect(replaced).toMatchObject({ digest: digest('b'), sizeBytes: 20 });
      expect(replaced).not.toHaveProperty('tag');
      expect(replaced).not.toHaveProperty('durationMs');
      expect(await store.remoteCache.isReferenced(digest('a'))).toBe(false);
      expect(await store.remoteCache.isReferenced(digest('b'))).toBe(true);
    });

    it('insert never replaces, and the same hash in two projects is two entries', async () => {
      const a = await project();
      const b = await project();
      expect(await store.remoteCache.insert({ projectId: a.id, hash: 'h1', digest: digest('c'), sizeBytes: 5 })).toBe(true);
      expect(await store.remoteCache.insert({ projectId: a.id, hash: 'h1', digest: digest('d'), sizeBytes: 6 })).toBe(false);
      expect((await store.remoteCache.get(a.id, 'h1'))!.digest).toBe(digest('c'));
      expect(await store.remoteCache.insert({ projectId: b.id, hash: 'h1', digest: digest('c'), sizeBytes: 5 })).toBe(true);
      expect(await store.remoteCache.usage(a.id)).toEqual({ entries: 1, bytes: 5 });
      const many = await store.remoteCache.getMany(a.id, ['h1', 'missing']);
      expect(many.map((entry) => entry.hash)).toEqual(['h1']);
      expect(await store.remoteCache.getMany(a.id, [])).toEqual([]);
    });

    it('lists usage most recently used first, and touch moves an entry to the front', async () => {
      const { id: projectId } = await project();
      for (const hash of ['old', 'mid', 'new']) {
        await store.remoteCache.put({ projectId, hash, digest: digest('e'), sizeBytes: 1 });
      }
      const before = await store.remoteCache.listUsage(projectId);
      expect(before.map((row) => row.id)).toEqual([...before].sort((x, y) => y.id - x.id).map((row) => row.id));
      const old = await store.remoteCache.get(projectId, 'old');
      await store.remoteCache.touch(old!.id);
      const after = await store.remoteCache.listUsage(projectId);
      expect(after[0]!.id).toBe(old!.id);
    });

    it('removes by id, returning what it removed, and follows its project away', async () => {
      const owner = await project();
      await store.remoteCache.put({ projectId: owner.id, hash: 'x', digest: digest('f'), sizeBytes: 3 });
      const { entry } = await store.remoteCache.put({ projectId: owner.id, hash: 'y', digest: digest('9'), sizeBytes: 4 });
      const removed = await store.remoteCache.remove([entry.id, 999_999_999]);
      expect(removed).toEqual([expect.objectContaining({ id: entry.id, digest: digest('9'), sizeBytes: 4 })]);
      expect(await store.remoteCache.remove([])).toEqual([]);
      const { entry: kept } = await store.remoteCache.put({ projectId: owner.id, hash: 'z', digest: digest('1'), sizeBytes: 2 });
      await store.remoteCache.put({ projectId: owner.id, hash: 'z', digest: digest('2'), sizeBytes: 2 });
      // Replaced meanwhile: discarding what it used to name leaves the new one alone.
      expect(await store.remoteCache.discard(kept.id, digest('1'))).toBe(false);
      expect(await store.remoteCache.discard(kept.id, digest('2'))).toBe(true);
      expect(await store.remoteCache.get(owner.id, 'z')).toBeUndefined();
      expect((await store.remoteCache.referencedDigests()).has(digest('f'))).toBe(true);
      await store.projects.remove(owner.name);
      expect((await store.remoteCache.referencedDigests()).has(digest('f'))).toBe(false);
    });

    it('refuses entries that are not whole', async () => {
      const { id: projectId } = await project();
      await expect(store.remoteCache.put({ projectId, hash: '', digest: digest('a'), sizeBytes: 1 })).rejects.toThrow(/hash must be a non-empty string/);
      await expect(store.remoteCache.put({ projectId, hash: 'h', digest: digest('a'), sizeBytes: -1 })).rejects.toThrow(/sizeBytes must be a whole number/);
      await expect(store.remoteCache.put({ projectId: 'prj_missing', hash: 'h', digest: digest('a'), sizeBytes: 1 })).rejects.toMatchObject({
        code: 'not_found',
      });
    });
  });
}
