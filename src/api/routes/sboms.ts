import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { MaestroError } from '../../common/index.js';
import type { Store } from '../../store/index.js';
import { toSpdx } from '../../supply-chain/sbom/index.js';
import { paramOf, projectOfBuild } from '../access-lookups.js';

export const SBOM_MEDIA_TYPES = {
  cyclonedx: 'application/vnd.cyclonedx+json; version=1.6',
  spdx: 'application/spdx+json',
} as const;

/** A build's SBOM, as CycloneDX 1.6 JSON (as stored) or SPDX 2.3 JSON (converted from it). */
export function sbomRoutes(context: { store: Store }): FastifyPluginAsyncZod {
  const { store } = context;
  return async (app) => {
    app.get(
      '/v1/builds/:id/sbom',
      {
        config: { permission: { permission: 'project:view', project: (request) => projectOfBuild(store, paramOf(request, 'id')) } },
        schema: {
          summary: "A build's SBOM: its service's resolved dependencies, CycloneDX 1.6 JSON (default) or SPDX 2.3 JSON",
          tags: ['builds'],
          params: z.object({ id: z.string() }),
          querystring: z.object({ format: z.enum(['cyclonedx', 'spdx']).default('cyclonedx') }),
        },
      },
      async (request, reply) => {
        const { id } = request.params;
        if (!(await store.builds.get(id))) throw new MaestroError('not_found', `no build ${id}; list builds with \`maestro builds\``);
        const sbom = await store.sboms.get(id);
        if (!sbom) {
          throw new MaestroError(
            'not_found',
            `build ${id} has no SBOM: one is recorded when a build's artifact is made, so this build is still running, failed before that, or was built before SBOMs were recorded`,
          );
        }
        const document = request.query.format === 'spdx' ? toSpdx(sbom) : sbom.document;
        return reply.type(SBOM_MEDIA_TYPES[request.query.format]).send(JSON.stringify(document));
      },
    );
  };
}
