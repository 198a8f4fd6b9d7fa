/**
 * A content-addressed store on disk: each blob lives at `<root>/sha256/<2 hex>/<digest>`, named by
 * the sha256 of its bytes. Writes go to a temporary file that is hashed on the way, synced, and
 * renamed into place, so a reader sees a whole blob or none, and a blob's name always matches it.
 */
import { randomBytes, createHash } from 'node:crypto';
import type { ReadStream } from 'node:fs';
import { chmod, mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { MaestroError } from '../common/index.js';
import { writeAll } from './write-all.js';

const DIGEST_PATTERN = /^[0-9a-f]{64}$/;

export interface StoredBlob {
  digest: string;
  size: number;
  path: string;
}

/** A file path, bytes in memory, or a stream of bytes. */
export type BlobSource = string | Uint8Array | AsyncIterable<Uint8Array>;

export class ContentStore {
  constructor(readonly root: string) {}

  /**
   * Stores the bytes and returns their digest. Storing the same bytes again is a no-op. With
   * `expectedDigest`, bytes that hash differently are refused (and not kept).
   */
  async put(source: BlobSource, options: { expectedDigest?: string } = {}): Promise<StoredBlob> {
    if (options.expectedDigest !== undefined) checkDigest(options.expectedDigest);
    const tempDir = join(this.root, 'tmp');
    await mkdir(tempDir, { recursive: true });
    const tempPath = join(tempDir, `${randomBytes(8).toString('hex')}.part`);
    try {
      const { digest, size } = await writeHashed(tempPath, source);
      if (options.expectedDigest !== undefined && digest !== options.expectedDigest) {
        throw new MaestroError('validation_error', `the content does not match its digest: expected ${options.expectedDigest}, got ${digest}`, {
          expected: options.expectedDigest,
          actual: digest,
        });
      }
      const finalPath = this.path(digest);
      if (!(await this.has(digest))) {
        await mkdir(join(this.root, 'sha256', digest.slice(0, 2)), { recursive: true });
        // Read-only: a blob that changed in place would no longer be what its name says.
        await chmod(tempPath, 0o444);
        // Two writers of the same bytes may race here; rename replaces atomically with identical content.
        await rename(tempPath, finalPath);
      }
      return { digest, size, path: finalPath };
    } finally {
      await rm(tempPath, { force: true });
    }
  }

  async has(digest: string): Promise<boolean> {
    const found = await stat(this.path(digest)).catch(() => undefined);
    return found?.isFile() ?? false;
  }

  /** Where the blob lives (or would live); the digest is checked so it can never name another path. */
  path(digest: string): string {
    checkDigest(digest);
    return join(this.root, 'sha256', digest.slice(0, 2), digest);
  }

  async size(digest: string): Promise<number> {
    const found = await stat(this.path(digest)).catch(() => undefined);
    if (!found?.isFile()) throw notFound(digest);
    return found.size;
  }

  /** A stream of the blob's bytes; not_found when the store does not have it. */
  async openRead(digest: string): Promise<ReadStream> {
    const handle = await open(this.path(digest), 'r').catch((error: NodeJS.ErrnoException) => {
      throw error.code === 'ENOENT' ? notFound(digest) : error;
    });
    return handle.createReadStream();
  }

  /** Deletes the blob; true when there was one. Only ever a file under this store's root. */
  async remove(digest: string): Promise<boolean> {
    const path = this.path(digest);
    const found = await stat(path).catch(() => undefined);
    if (!found?.isFile()) return false;
    await rm(path, { force: true });
    return true;
  }

  /** Re-hashes the blob: false when its bytes no longer match its name (disk damage, tampering). */
  async verify(digest: string): Promise<boolean> {
    const hash = createHash('sha256');
    for await (const chunk of await this.openRead(digest)) hash.update(chunk as Buffer);
    return hash.digest('hex') === digest;
  }
}

export function isDigest(value: string): boolean {
  return DIGEST_PATTERN.test(value);
}

function checkDigest(digest: string): void {
  if (!DIGEST_PATTERN.test(digest)) {
    throw new MaestroError('validation_error', `"${digest.slice(0, 80)}" is not a sha256 digest (64 lowercase hex characters)`);
  }
}

function notFound(digest: string): MaestroError {
  return new MaestroError('not_found', `no stored content with digest ${digest}`, { digest });
}

async function writeHashed(path: string, source: BlobSource): Promise<{ digest: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  const handle = await open(path, 'wx', 0o600);
  try {
    for await (const chunk of chunksOf(source)) {
      hash.update(chunk);
      await writeAll(handle, chunk);
      size += chunk.length;
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
  return { digest: hash.digest('hex'), size };
}

async function* chunksOf(source: BlobSource): AsyncGenerator<Uint8Array> {
  if (typeof source === 'string') {
    const handle = await open(source, 'r').catch((error: NodeJS.ErrnoException) => {
      throw error.code === 'ENOENT' ? new MaestroError('not_found', `cannot store "${source}": the file does not exist`) : error;
    });
    yield* handle.createReadStream() as AsyncIterable<Buffer>;
  } else if (source instanceof Uint8Array) {
    yield source;
  } else {
    yield* source;
  }
}
