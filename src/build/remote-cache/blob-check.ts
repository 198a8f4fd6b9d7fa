/** Serving a blob only after it hashes to its name: a damaged blob is a miss, never a wrong artifact. */
import { createHash } from 'node:crypto';
import { open, rm } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { ContentStore } from '../cas.js';

export type VerifiedBlob = { ok: true; stream: Readable } | { ok: false; problem: 'missing' | 'corrupt' };

/**
 * Opens the blob once, hashes it through that descriptor, then streams it from the same descriptor,
 * so the bytes served are the bytes checked even if the path were replaced in between.
 */
export async function openVerifiedBlob(blobs: ContentStore, digest: string, expectedSize: number): Promise<VerifiedBlob> {
  const handle = await open(blobs.path(digest), 'r').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (!handle) return { ok: false, problem: 'missing' };
  try {
    const hash = createHash('sha256');
    let size = 0;
    for await (const chunk of handle.createReadStream({ start: 0, autoClose: false }) as AsyncIterable<Buffer>) {
      hash.update(chunk);
      size += chunk.length;
    }
    if (size !== expectedSize || hash.digest('hex') !== digest) {
      await handle.close();
      return { ok: false, problem: 'corrupt' };
    }
    return { ok: true, stream: handle.createReadStream({ start: 0 }) };
  } catch (error) {
    await handle.close().catch(() => undefined);
    throw error;
  }
}

/** Deletes a blob file; the content store has no delete of its own since builds never need one. */
export async function removeBlob(blobs: ContentStore, digest: string): Promise<void> {
  await rm(blobs.path(digest), { force: true });
}
