/**
 * The cache's index: which key maps to which archive, when it was last used, and the counters
 * `maestro cache stats` shows. One JSON file, replaced atomically (write, sync, rename), so a
 * reader sees the old or the new index, never half of one. Changes within this process go one at a
 * time through a lock per file; each change reads the file afresh, so two caches opened on the same
 * folder in one process do not overwrite each other's work.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { writeAll } from '../write-all.js';

export const CACHE_KINDS = ['dependencies', 'output'] as const;
export type CacheKind = (typeof CACHE_KINDS)[number];

const countSchema = z.number().int().nonnegative();

const entrySchema = z.object({
  kind: z.enum(CACHE_KINDS),
  key: z.string().regex(/^[0-9a-f]{64}$/),
  digest: z.string().regex(/^[0-9a-f]{64}$/),
  size: countSchema,
  /** The paths asked for when saving. */
  paths: z.array(z.string()),
  /** Those of them that existed and are in the archive. */
  present: z.array(z.string()),
  /** Links leading outside the archive, recreated after unpacking. */
  links: z.array(z.object({ path: z.string(), target: z.string() })),
  createdAt: countSchema,
  lastUsedAt: countSchema,
});

const countersSchema = z.object({ hits: countSchema, misses: countSchema });

const indexSchema = z.object({
  version: z.literal(1),
  entries: z.record(z.string(), entrySchema),
  counters: z.object({ dependencies: countersSchema, output: countersSchema }),
  evictions: countSchema,
  evictedBytes: countSchema,
  corrupted: countSchema,
});

export type CacheEntry = z.infer<typeof entrySchema>;
export type CacheIndexData = z.infer<typeof indexSchema>;

export function entryId(kind: CacheKind, key: string): string {
  return `${kind}:${key}`;
}

export function emptyIndex(): CacheIndexData {
  return {
    version: 1,
    entries: {},
    counters: { dependencies: { hits: 0, misses: 0 }, output: { hits: 0, misses: 0 } },
    evictions: 0,
    evictedBytes: 0,
    corrupted: 0,
  };
}

/** Tails of the per-file lock chains: the next change waits for the one before it. */
const locks = new Map<string, Promise<void>>();

export class IndexFile {
  readonly path: string;

  constructor(path: string) {
    this.path = resolve(path);
  }

  /** The index as last written; an empty one when there is none yet (or it is damaged). */
  async read(): Promise<CacheIndexData> {
    return this.load(false);
  }

  /** Only a holder of the lock sets a damaged file aside: a reader without it might move a fresh index. */
  private async load(setAsideDamaged: boolean): Promise<CacheIndexData> {
    const text = await readFile(this.path, 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
    if (text === undefined) return emptyIndex();
    const parsed = indexSchema.safeParse(safeJson(text));
    if (parsed.success) return parsed.data;
    // A damaged index is set aside (not deleted) and the cache starts over; orphaned archives are
    // swept later by `verify`.
    if (setAsideDamaged) await rename(this.path, `${this.path}.damaged`).catch(() => undefined);
    return emptyIndex();
  }

  /** Runs `change` on the current index with the lock held and writes the result. */
  async update<T>(change: (index: CacheIndexData) => T | Promise<T>): Promise<T> {
    const previous = locks.get(this.path) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolveLock) => {
      release = resolveLock;
    });
    const tail = previous.then(() => mine);
    locks.set(this.path, tail);
    await previous;
    try {
      const index = await this.load(true);
      const result = await change(index);
      await this.write(index);
      return result;
    } finally {
      release();
      if (locks.get(this.path) === tail) locks.delete(this.path);
    }
  }

  private async write(index: CacheIndexData): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    const temp = `${this.path}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      const handle = await open(temp, 'wx', 0o600);
      try {
        await writeAll(handle, Buffer.from(`${JSON.stringify(index)}\n`));
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, this.path);
    } finally {
      await rm(temp, { force: true });
    }
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
