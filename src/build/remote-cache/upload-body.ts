import type { FastifyReply, FastifyRequest } from 'fastify';
import { isMaestroError } from '../../common/index.js';

/** The raw request body the pass-through content-type parser left as a stream (none for an empty body). */
export function uploadBody(request: FastifyRequest): AsyncIterable<Uint8Array> {
  const body = request.body as AsyncIterable<Uint8Array> | undefined;
  return body && typeof body[Symbol.asyncIterator] === 'function' ? body : (async function* () {})();
}

/**
 * A refused upload may still be arriving: close the connection after the answer instead of reading
 * the rest of a body nobody will keep.
 */
export function closeAfterRefusal(reply: FastifyReply, error: unknown): never {
  if (isMaestroError(error) && (error.code === 'payload_too_large' || error.code === 'bad_request')) reply.header('connection', 'close');
  throw error;
}
