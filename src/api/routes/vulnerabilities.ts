import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { MaestroError } from '../../common/index.js';
import { ECOSYSTEMS, VulnerabilityScanResultSchema, type VulnerabilityScanner } from '../../supply-chain/vulns/index.js';
import type { Store } from '../../store/index.js';
import { paramOf, projectOfBuild } from '../access-lookups.js';

const BuildScanView = VulnerabilityScanResultSchema.extend({
  build: z.string(),
  storedAt: z.string().describe('When this scan was stored for the build'),
});

const AdvisoriesView = z.object({
  advisories: z.object({
    path: z.string(),
    status: z.enum(['ok', 'unavailable']),
    reason: z.string().optional(),
    digest: z.string().optional().describe('sha256 over every file: a different digest means different advisories'),
    advisories: z.number().optional(),
    perEcosystem: z.object(Object.fromEntries(ECOSYSTEMS.map((ecosystem) => [ecosystem, z.number()])) as Record<(typeof ECOSYSTEMS)[number], z.ZodNumber>).optional(),
    files: z.number().optional(),
    skipped: z.object({ withdrawn: z.number(), otherEcosystems: z.number() }).optional(),
    problems: z.array(z.string()).describe('Files that were skipped and why (at most 50; see problemCount)'),
    problemCount: z.number(),
    loadedAt: z.string().optional(),
  }),
});

const NOT_CONFIGURED = 'no advisories are configured: start Maestro with --advisories PATH (or MAESTRO_ADVISORIES), a folder of OSV *.json files or an all.zip';

/** A build's vulnerability scan, and the OSV advisories the scans use. */
export function vulnerabilityRoutes(context: { store: Store; scanner: () => VulnerabilityScanner }): FastifyPluginAsyncZod {
  const { store } = context;
  return async (app) => {
    app.get(
      '/v1/builds/:id/vulnerabilities',
      {
        config: { permission: { permission: 'project:view', project: (request) => projectOfBuild(store, paramOf(request, 'id')) } },
        schema: {
          summary: "A build's vulnerability scan: findings most severe first, counts by severity, what was not scanned, each source; `status: unavailable` is never a pass",
          tags: ['builds'],
          params: z.object({ id: z.string() }),
          response: { 200: BuildScanView },
        },
      },
      async (request) => {
        const { id } = request.params;
        if (!(await store.builds.get(id))) throw new MaestroError('not_found', `no build ${id}; list builds with \`maestro builds\``);
        const scan = await store.vulnerabilityScans.get(id);
        if (!scan) throw new MaestroError('not_found', `build ${id} has no vulnerability scan yet (scans run once a build's components are known)`);
        const result = VulnerabilityScanResultSchema.safeParse(scan.result);
        if (!result.success) throw new MaestroError('internal', `the stored vulnerability scan of build ${id} cannot be read; scan the build again`);
        return { build: id, storedAt: scan.createdAt.toISOString(), ...result.data };
      },
    );

    app.get(
      '/v1/advisories',
      { config: { permission: 'org:view' }, schema: { summary: 'The OSV advisories vulnerability scans use: where from, how many, their digest, skipped files', tags: ['advisories'], response: { 200: AdvisoriesView } } },
      async () => {
        const status = await context.scanner().advisoriesStatus();
        if (!status) throw new MaestroError('conflict', NOT_CONFIGURED);
        return { advisories: status };
      },
    );

    app.post(
      '/v1/advisories/reload',
      {
        config: { permission: 'service:manage' },
        schema: {
          summary: 'Read the OSV advisories again now (a folder is also re-read by itself when files are added or removed)',
          tags: ['advisories'],
          response: { 200: AdvisoriesView },
        },
      },
      async () => {
        const status = await context.scanner().reloadAdvisories();
        if (!status) throw new MaestroError('conflict', NOT_CONFIGURED);
        return { advisories: status };
      },
    );
  };
}
