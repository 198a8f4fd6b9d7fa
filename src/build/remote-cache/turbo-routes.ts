/**
 * Turborepo's remote cache API (v8), at the root of the API port: `TURBO_API=<maestro url>`, the team
 * (`TURBO_TEAM`, sent as ?slug=) names the project, `TURBO_TOKEN` is a Maestro API token.
 */
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { MaestroError } from '../../common/index.js';
import type { RemoteCacheEntry } from '../../store/index.js';
import { declaredLength, parseArtifactDuration, parseArtifactTag } from './artifact-headers.js';
import { HASH_PATTERN, HASH_RULE, checkCacheHash, turboNamespace, turboProject } from './cache-key.js';
import type { RemoteCache } from './remote-cache.js';
import { closeAfterRefusal, uploadBody } from './upload-body.js';

const Team = z.object({
  slug: z.string().max(200).optional(),
  teamId: z.string().max(200).optional(),
});
const HashParams = z.object({ hash: z.string().regex(HASH_PATTERN, HASH_RULE) });
const MAX_QUERY_HASHES = 10_000;
const tags = ['remote-cache'];
/** The team names the project, so a token scoped to a project reaches that project's cache only. */
const read = { permission: { permission: 'cache:read', project: (request: FastifyRequest) => turboProject(request.query as object) } } as const;
const write = { permission: { permission: 'cache:write', project: (request: FastifyRequest) => turboProject(request.query as object) } } as const;

export function turboRoutes(cache: RemoteCache): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/v8/artifacts/status',
      { config: read, schema: { summary: 'Turborepo: is remote caching enabled for this token', tags, querystring: Team } },
      async () => ({ status: 'enabled' }),
    );

    app.put(
      '/v8/artifacts/:hash',
      { config: write, schema: { summary: 'Turborepo: upload a task output (application/octet-stream)', tags, params: HashParams, querystring: Team } },
      async (request, reply) => {
        const namespace = turboNamespace(request.query);
        const durationMs = parseArtifactDuration(request.headers['x-artifact-duration']);
        const tag = parseArtifactTag(request.headers['x-artifact-tag']);
        await cache
          .write({
            namespace,
            hash: request.params.hash,
            body: uploadBody(request),
            declaredBytes: declaredLength(request.headers['content-length']),
            durationMs,
            tag,
            replace: true,
          })
          .catch((error: unknown) => closeAfterRefusal(reply, error));
        return reply.status(202).send({ urls: [`/v8/artifacts/${request.params.hash}?slug=${namespace}`] });
      },
    );

    app.get(
      '/v8/artifacts/:hash',
      {
        exposeHeadRoute: false,
        config: read,
        schema: { summary: 'Turborepo: download a task output', tags, params: HashParams, querystring: Team },
      },
      async (request, reply) => {
        const hit = await cache.open(turboNamespace(request.query), request.params.hash);
        if (!hit) throw miss(request.params.hash);
        artifactHeaders(reply, hit.entry);
        return reply.type('application/octet-stream').send(hit.stream);
      },
    );

    app.head(
      '/v8/artifacts/:hash',
      { config: read, schema: { summary: 'Turborepo: does the cache have this task output', tags, params: HashParams, querystring: Team } },
      async (request, reply) => {
        const entry = await cache.lookup(turboNamespace(request.query), request.params.hash);
        if (!entry) return reply.status(404).send();
        artifactHeaders(reply, entry);
        return reply.type('application/octet-stream').send();
      },
    );

    app.post(
      '/v8/artifacts',
      {
        config: read,
        schema: {
          summary: 'Turborepo: size, duration and tag of several task outputs (null when missing)',
          tags,
          querystring: Team,
          body: z.object({ hashes: z.array(z.string()).max(MAX_QUERY_HASHES) }),
        },
      },
      async (request) => {
        request.body.hashes.forEach((hash) => checkCacheHash(hash));
        const found = await cache.lookupMany(turboNamespace(request.query), request.body.hashes);
        const answer: Record<string, { size: number; taskDurationMs: number; tag?: string } | null> = {};
        for (const hash of request.body.hashes) {
          const entry = found.get(hash);
          answer[hash] = entry ? { size: entry.sizeBytes, taskDurationMs: entry.durationMs ?? 0, ...(entry.tag ? { tag: entry.tag } : {}) } : null;
        }
        return answer;
      },
    );

    // Turborepo reports its hits and misses here; Maestro has no use for them yet, and says fine.
    app.post('/v8/artifacts/events', { config: read, schema: { summary: 'Turborepo: cache usage events (accepted, not kept)', tags } }, async (_request, reply) =>
      reply.status(200).send(),
    );
  };
}

function artifactHeaders(reply: { header(name: string, value: string | number): unknown }, entry: RemoteCacheEntry): void {
  reply.header('content-length', entry.sizeBytes);
  if (entry.durationMs !== undefined) reply.header('x-artifact-duration', String(entry.durationMs));
  if (entry.tag !== undefined) reply.header('x-artifact-tag', entry.tag);
}

function miss(hash: string): MaestroError {
  return new MaestroError('not_found', `no cached artifact ${hash} in this namespace`);
}
