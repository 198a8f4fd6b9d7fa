import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { MaestroError } from '../../common/index.js';
import type { BlobSource } from '../../build/index.js';

/** sha256 hex of the bytes of a file, a buffer or a stream, read once, never held whole. */
export async function sha256Of(source: BlobSource): Promise<string> {
  const hash = createHash('sha256');
  if (source instanceof Uint8Array) return hash.update(source).digest('hex');
  const chunks: AsyncIterable<Uint8Array> =
    typeof source === 'string'
      ? (
          await open(source, 'r').catch((error: NodeJS.ErrnoException) => {
            throw error.code === 'ENOENT' ? new MaestroError('not_found', `no file ${source}`) : error;
          })
        ).createReadStream()
      : source;
  for await (const chunk of chunks) hash.update(chunk);
  return hash.digest('hex');
}
