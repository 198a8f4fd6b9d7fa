import type { FastifyError, FastifyInstance } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { MaestroError, type Logger } from '../common/index.js';

/** Every error leaves the API as `{error: {code, message, details}}` with a status that matches the code. */
export function registerErrorHandling(app: FastifyInstance, logger: Logger): void {
  app.setErrorHandler((error: FastifyError | MaestroError | Error, request, reply) => {
    if (error instanceof MaestroError) {
      const retryAfter = (error.details as { retryAfterSeconds?: unknown } | undefined)?.retryAfterSeconds;
      if (error.code === 'rate_limited' && typeof retryAfter === 'number') reply.header('retry-after', String(retryAfter));
      return reply.status(error.httpStatus).send(error.toJSON());
    }
    if (hasZodFastifySchemaValidationErrors(error)) {
      const problems = error.validation.map((issue) => ({
        field: `${error.validationContext ?? 'request'}${issue.instancePath.replace(/\//g, '.')}`,
        message: issue.message,
      }));
      const message = problems.map((problem) => `${problem.field}: ${problem.message}`).join('; ');
      return reply.status(400).send(new MaestroError('validation_error', message, { problems }).toJSON());
    }
    const fastifyError = error as FastifyError;
    if (fastifyError.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || fastifyError.statusCode === 413) {
      return reply.status(413).send(new MaestroError('payload_too_large', 'the upload is larger than this server accepts (see --max-upload)').toJSON());
    }
    if (fastifyError.statusCode && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
      const code = fastifyError.statusCode === 415 ? 'bad_request' : fastifyError.statusCode === 404 ? 'not_found' : 'bad_request';
      return reply.status(fastifyError.statusCode).send(new MaestroError(code, fastifyError.message).toJSON());
    }
    logger.error({ err: error.message, stack: error.stack, url: request.url }, 'request failed');
    return reply.status(500).send(new MaestroError('internal', 'the server failed; see its log for details').toJSON());
  });

  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send(new MaestroError('not_found', `no API route ${request.method} ${request.url.split('?')[0]}`).toJSON()),
  );
}
