/** An upload's bytes, passed on as they arrive, cut off the moment they pass the limit. */
import { MaestroError, errorMessage, formatBytes, isMaestroError } from '../../common/index.js';

export function tooLarge(limit: number): MaestroError {
  return new MaestroError(
    'payload_too_large',
    `the artifact is larger than the ${formatBytes(limit)} this cache accepts; raise MAESTRO_REMOTE_CACHE_MAX_ARTIFACT (and the quota) or leave such outputs out of the cache`,
    { limitBytes: limit },
  );
}

/**
 * Counts the bytes while streaming them; past `limit` it stops with 413. With `declared` (the
 * Content-Length), a body that ends short is refused too, so a cut-off upload is never stored.
 */
export async function* limitBody(source: AsyncIterable<Uint8Array>, limit: number, declared?: number): AsyncGenerator<Uint8Array> {
  if (declared !== undefined && declared > limit) throw tooLarge(limit);
  let received = 0;
  try {
    for await (const chunk of source) {
      received += chunk.length;
      if (received > limit) throw tooLarge(limit);
      yield chunk;
    }
  } catch (error) {
    // A client that hangs up mid-upload is not a server failure; say what happened instead of a 500.
    if (isMaestroError(error)) throw error;
    throw new MaestroError('bad_request', `the upload stopped after ${received} bytes (${errorMessage(error)}); nothing was stored`);
  }
  if (declared !== undefined && received !== declared) {
    throw new MaestroError('bad_request', `the body had ${received} bytes but Content-Length said ${declared}; nothing was stored`);
  }
  if (received === 0) {
    throw new MaestroError('bad_request', 'the artifact is empty: send its bytes as the request body (Content-Type: application/octet-stream)');
  }
}
