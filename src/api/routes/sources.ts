import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { MaestroError, formatBytes } from '../../common/index.js';
import { isDigest } from '../../build/index.js';
import type { ApiContext } from '../context.js';

const SourceResult = z.object({ digest: z.string(), size: z.number() });

/** Source archives are content-addressed: the CLI asks first and skips the upload when the server has it. */
export function sourceRoutes(context: ApiContext): FastifyPluginAsyncZod {
  return async (app) => {
    for (const type of ['application/gzip', 'application/x-gzip', 'application/octet-stream']) {
      app.addContentTypeParser(type, (_request, payload, done) => done(null, payload));
    }

    app.post(
      '/v1/sources',
      {
        config: { permission: { permission: 'deploy:preview', anyProject: true } },
        schema: {
          summary: 'Upload a source archive (gzip tar)',
          tags: ['sources'],
          response: { 201: SourceResult },
        },
      },
      async (request, reply) => {
        const limit = context.maxUploadBytes;
        const declared = Number(request.headers['content-length'] ?? 0);
        if (declared > limit) throw tooLarge(limit);
        if (!(request.body && typeof (request.body as Readable).pipe === 'function')) {
          throw new MaestroError('bad_request', 'send the archive as the request body with Content-Type: application/gzip');
        }
        await mkdir(context.plane.paths.work, { recursive: true });
        const temp = join(context.plane.paths.work, `upload-${randomUUID()}.tar.gz`);
        let received = 0;
        const counter = new Transform({
          transform(chunk: Buffer, _encoding, callback) {
            received += chunk.length;
            if (received > limit) callback(tooLarge(limit));
            else callback(null, chunk);
          },
        });
        try {
          await pipeline(request.body as Readable, counter, createWriteStream(temp));
          const stored = await context.plane.sources.put(temp);
          await context.store.sources.record({ digest: stored.digest, sizeBytes: stored.size });
          return reply.status(201).send({ digest: stored.digest, size: stored.size });
        } finally {
          await rm(temp, { force: true });
        }
      },
    );

    app.get(
      '/v1/sources/:digest',
      {
        config: { permission: { permission: 'project:view', anyProject: true } },
        schema: {
          summary: 'Download a source archive (runners on other machines); HEAD says whether the server has it',
          tags: ['sources'],
          params: z.object({ digest: z.string() }),
        },
      },
      async (request, reply) => {
        const digest = request.params.digest;
        if (!isDigest(digest) || !(await context.plane.sources.has(digest))) throw new MaestroError('not_found', `no source ${digest}`);
        return reply.type('application/gzip').send(await context.plane.sources.openRead(digest));
      },
    );

    app.put(
      '/v1/artifacts/:digest',
      {
        config: { permission: { permission: 'deploy:preview', anyProject: true } },
        schema: {
          summary: 'Upload a build artifact under its sha256 (runners on other machines); a body with another digest is refused',
          tags: ['artifacts'],
          params: z.object({ digest: z.string() }),
          response: { 201: SourceResult },
        },
      },
      async (request, reply) => {
        const digest = request.params.digest;
        if (!isDigest(digest)) throw new MaestroError('validation_error', `"${digest.slice(0, 80)}" is not a sha256 digest`);
        if (!(request.body && typeof (request.body as Readable).pipe === 'function')) {
          throw new MaestroError('bad_request', 'send the artifact as the request body with Content-Type: application/octet-stream');
        }
        const stored = await context.plane.artifacts.put(request.body as Readable, { expectedDigest: digest });
        await context.store.artifacts.record({ digest: stored.digest, sizeBytes: stored.size, path: stored.path });
        return reply.status(201).send({ digest: stored.digest, size: stored.size });
      },
    );

  };
}

function tooLarge(limit: number): MaestroError {
  return new MaestroError('payload_too_large', `the upload is larger than the ${formatBytes(limit)} this server accepts; add large files to .maestroignore or raise --max-upload`);
}
