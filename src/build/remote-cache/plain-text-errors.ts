/**
 * Nx shows the text of an error response to its user and insists on `text/plain` for a 401 (any other
 * type reads to it as a misconfigured server), so the Nx routes answer errors in plain text.
 */
import type { FastifyError, FastifyInstance } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { MaestroError, type Logger } from '../../common/index.js';

export function plainTextErrors(app: FastifyInstance, logger: Logger): void {
  app.setErrorHandler((error: FastifyError | MaestroError | Error, request, reply) => {
    const { status, message } = describe(error);
    if (status >= 500) logger.error({ err: error.message, stack: error.stack, url: request.url }, 'request failed');
    return reply.status(status).type('text/plain').send(message);
  });
}

function describe(error: FastifyError | MaestroError | Error): { status: number; message: string } {
  if (error instanceof MaestroError) return { status: error.httpStatus, message: error.message };
  if (hasZodFastifySchemaValidationErrors(error)) {
    const message = error.validation.map((issue) => `${error.validationContext ?? 'request'}${issue.instancePath.replace(/\//g, '.')}: ${issue.message}`).join('; ');
    return { status: 400, message };
  }
  const { statusCode } = error as FastifyError;
  if (statusCode && statusCode >= 400 && statusCode < 500) return { status: statusCode, message: error.message };
  return { status: 500, message: 'the server failed; see its log for details' };
}
