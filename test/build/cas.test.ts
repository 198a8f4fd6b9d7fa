import { createHash } from 'node:crypto';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ContentStore } from '../../src/build/index.js';
import { removeDir, tempDir } from './tree-helpers.js';

const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');

let root: string;
let store: ContentStore;
beforeEach(async () => {
  root = await tempDir('maestro-cas-');
  store = new ContentStore(join(root, 'store'));
});
afterEach(async () => {
  await removeDir(root);
});

describe('ContentStore', () => {
  it('stores bytes under sha256/<2 hex>/<digest> and reads them back', async () => {
    const stored = await store.put(Buffer.from('hello'));
    expect(stored.digest).toBe(sha256('hello'));
    expect(stored.size).toBe(5);
    expect(stored.path).toBe(join(root, 'store', 'sha256', stored.digest.slice(0, 2), stored.digest));
    expect(store.path(stored.digest)).toBe(stored.path);
    expect(await store.has(stored.digest)).toBe(true);
    expect(await readFile(stored.path, 'utf8')).toBe('hello');
    const chunks: Buffer[] = [];
    for await (const chunk of await store.openRead(stored.digest)) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('hello');
    expect(await store.verify(stored.digest)).toBe(true);
    // Stored blobs are read-only: they are named after their bytes.
    expect((await stat(stored.path)).mode & 0o222).toBe(0);
  });

  it('accepts a file path and a stream, and is idempotent', async () => {
    const file = join(root, 'upload.bin');
    const bytes = Buffer.alloc(300_000, 7);
    await writeFile(file, bytes);
    const fromFile = await store.put(file);
    const fromStream = await store.put(Readable.from([bytes.subarray(0, 1000), bytes.subarray(1000)]));
    const fromBuffer = await store.put(bytes);
    expect(fromFile).toEqual(fromStream);
    expect(fromBuffer).toEqual(fromFile);
    expect(fromFile.digest).toBe(sha256(bytes));
    const prefix = await readdir(join(root, 'store', 'sha256'));
    expect(prefix).toEqual([fromFile.digest.slice(0, 2)]);
    expect(await readdir(join(root, 'store', 'sha256', prefix[0]!))).toEqual([fromFile.digest]);
    // No temporary files are left behind.
    expect(await readdir(join(root, 'store', 'tmp'))).toEqual([]);
  });

  it('refuses content that does not match the expected digest, and keeps nothing of it', async () => {
    await expect(store.put(Buffer.from('tampered'), { expectedDigest: sha256('original') })).rejects.toMatchObject({
      code: 'validation_error',
      message: expect.stringContaining('does not match its digest'),
    });
    expect(await store.has(sha256('tampered'))).toBe(false);
    expect(await readdir(join(root, 'store', 'tmp'))).toEqual([]);
    expect((await store.put(Buffer.from('original'), { expectedDigest: sha256('original') })).digest).toBe(sha256('original'));
  });

  it('writes atomically: concurrent puts of the same bytes all succeed with one whole blob', async () => {
    const bytes = Buffer.alloc(2 * 1024 * 1024, 1);
    const results = await Promise.all(Array.from({ length: 6 }, () => store.put(bytes)));
    expect(new Set(results.map((result) => result.digest)).size).toBe(1);
    expect((await readFile(results[0]!.path)).equals(bytes)).toBe(true);
    expect(await readdir(join(root, 'store', 'tmp'))).toEqual([]);
  });

  it('never shows a half-written blob: a failing stream leaves nothing under its name', async () => {
    async function* failing(): AsyncGenerator<Buffer> {
      yield Buffer.from('partial');
      throw new Error('connection reset');
    }
    await expect(store.put(failing())).rejects.toThrow('connection reset');
    expect(await readdir(join(root, 'store', 'tmp'))).toEqual([]);
    expect(await store.has(sha256('partial'))).toBe(false);
  });

  it('answers not_found for missing blobs and refuses things that are not digests', async () => {
    const missing = sha256('nobody stored this');
    expect(await store.has(missing)).toBe(false);
    await expect(store.openRead(missing)).rejects.toMatchObject({ code: 'not_found' });
    expect(() => store.path('../../etc/passwd')).toThrow(/is not a sha256 digest/);
    expect(() => store.path(missing.toUpperCase())).toThrow(/is not a sha256 digest/);
    await expect(store.has('abc')).rejects.toMatchObject({ code: 'validation_error' });
  });
});
