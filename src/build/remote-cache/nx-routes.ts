/**
 * Nx's self-hosted remote cache API under /nx, so its `/v1/cache/...` never meets Maestro's own /v1:
 * `NX_SELF_HOSTED_REMOTE_CACHE_SERVER=<maestro url>/nx` (the default project) or `<maestro url>/nx/<project>`,
 * with a Maestro API token in `NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN`.
 */
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { MaestroError, type Logger } from '../../common/index.js';
import { declaredLength } from './artifact-headers.js';
import { HASH_PATTERN, HASH_RULE, checkNamespace } from './cache-key.js';
import { plainTextErrors } from './plain-text-errors.js';
import type { RemoteCache } from './remote-cache.js';
import { closeAfterRefusal, uploadBody } from './upload-body.js';

const tags = ['remote-cache'];
const params = z.object({
  project: z.string().max(100).optional(),
  hash: z.string().regex(HASH_PATTERN, HASH_RULE),
});
// Without a project in the path, entries go to the default one (MAESTRO_REMOTE_CACHE_NX_PROJECT).
const PATHS = ['/nx/v1/cache/:hash', '/nx/:project/v1/cache/:hash'];

export function nxRoutes(cache: RemoteCache, logger: Logger): FastifyPluginAsyncZod {
  return async (app) => {
    plainTextErrors(app, logger);
    const namespaceOf = (path: { project?: string | undefined }): string =>
      path.project === undefined ? cache.settings.nxNamespace : checkNamespace(path.project, 'the project in the Nx cache URL');

    // The project in the URL (or the default one) is what a project-scoped token must be scoped to.
    const project = (request: FastifyRequest): string => (request.params as { project?: string }).project ?? cache.settings.nxNamespace;
    const read = { permission: { permission: 'cache:read', project } } as const;
    const write = { permission: { permission: 'cache:write', project } } as const;

    for (const path of PATHS) {
      app.put(path, { config: write, schema: { summary: 'Nx: upload a task output; an existing one is never replaced (409)', tags, params } }, async (request, reply) => {
        const outcome = await cache
          .write({
            namespace: namespaceOf(request.params),
            hash: request.params.hash,
            body: uploadBody(request),
            declaredBytes: declaredLength(request.headers['content-length']),
            replace: false,
          })
          .catch((error: unknown) => closeAfterRefusal(reply, error));
        if (outcome === 'exists') {
          throw new MaestroError('conflict', `the cache already has task ${request.params.hash}; entries are never overwritten`);
        }
        // The spec says 202, but Nx 22 calls a 202 a misconfigured endpoint and fails the task: 200 it is.
        return reply.status(200).type('text/plain').send('stored');
      });

      app.get(path, { exposeHeadRoute: false, config: read, schema: { summary: 'Nx: download a task output', tags, params } }, async (request, reply) => {
        const hit = await cache.open(namespaceOf(request.params), request.params.hash);
        if (!hit) throw new MaestroError('not_found', `the cache has no task ${request.params.hash}`);
        reply.header('content-length', hit.entry.sizeBytes);
        return reply.type('application/octet-stream').send(hit.stream);
      });

      app.head(path, { config: read, schema: { summary: 'Nx: does the cache have this task output', tags, params } }, async (request, reply) => {
        const entry = await cache.lookup(namespaceOf(request.params), request.params.hash);
        if (!entry) return reply.status(404).send();
        reply.header('content-length', entry.sizeBytes);
        return reply.type('application/octet-stream').send();
      });
    }
  };
}
