import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { MaestroError } from '../../common/index.js';
import type { Build } from '../../store/index.js';
import type { ApiContext } from '../context.js';
import { deployPermissionOfDeployment, paramOf, projectOfBuild, queryOf } from '../access-lookups.js';

const StepView = z.object({
  name: z.string(),
  status: z.string(),
  command: z.string().nullable(),
  exitCode: z.number().nullable(),
  cache: z.enum(['hit', 'miss']).nullable(),
  attempt: z.number(),
  durationMs: z.number().nullable(),
});

const BuildView = z.object({
  id: z.string(),
  deployment: z.string(),
  project: z.string(),
  service: z.string(),
  environment: z.string(),
  status: z.string(),
  artifact: z.string().nullable(),
  error: z.string().nullable(),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  queueWaitMs: z.number().nullable(),
  attempts: z.number(),
  steps: z.array(StepView),
});

export function buildRoutes(context: ApiContext): FastifyPluginAsyncZod {
  const { plane, store } = context;

  async function view(build: Build): Promise<z.infer<typeof BuildView>> {
    const deployment = await plane.getDeployment(build.deploymentId);
    const job = await store.jobs.forBuild(build.id);
    const steps = await store.buildSteps.list(build.id);
    return {
      id: build.id,
      deployment: deployment.id,
      project: deployment.project,
      service: deployment.service,
      environment: deployment.environment,
      status: build.status,
      artifact: build.artifactDigest ?? null,
      error: build.error ?? null,
      createdAt: build.createdAt.toISOString(),
      startedAt: build.startedAt?.toISOString() ?? null,
      finishedAt: build.finishedAt?.toISOString() ?? null,
      queueWaitMs: job?.startedAt ? job.startedAt.getTime() - job.createdAt.getTime() : null,
      attempts: job?.attempts ?? 0,
      steps: steps.map((step) => ({
        name: step.name,
        status: step.status,
        command: step.command ?? null,
        exitCode: step.exitCode ?? null,
        cache: step.cache ?? null,
        attempt: step.attempt,
        durationMs: step.startedAt && step.finishedAt ? step.finishedAt.getTime() - step.startedAt.getTime() : null,
      })),
    };
  }

  async function requireBuild(id: string): Promise<Build> {
    const build = await store.builds.get(id);
    if (!build) throw new MaestroError('not_found', `no build ${id}; list builds with \`maestro builds\``);
    return build;
  }

  return async (app) => {
    app.get(
      '/v1/builds',
      {
        config: { permission: { permission: 'project:view', project: (request) => queryOf(request, 'project') } },
        schema: {
          summary: 'Recent builds with their pipeline steps, newest first, and the queue',
          tags: ['builds'],
          querystring: z.object({ project: z.string().optional(), limit: z.coerce.number().int().min(1).max(500).default(20) }),
          response: { 200: z.object({ builds: z.array(BuildView), queue: z.object({ queued: z.number(), running: z.number() }) }) },
        },
      },
      async (request) => {
        const projectId = request.query.project ? (await plane.requireProject(request.query.project)).id : undefined;
        const builds = await store.builds.recent({ ...(projectId ? { projectId } : {}), limit: request.query.limit });
        return { builds: await Promise.all(builds.map(view)), queue: await store.jobs.counts() };
      },
    );

    app.get(
      '/v1/artifacts',
      {
        config: { permission: 'org:view' },
        schema: {
          summary: 'Stored build artifacts, oldest first; `inUse` ones (live, warm, recent releases, deploys in progress) are never removed',
          tags: ['artifacts'],
          response: {
            200: z.object({
              artifacts: z.array(z.object({ digest: z.string(), sizeBytes: z.number(), createdAt: z.string(), inUse: z.boolean() })),
            }),
          },
        },
      },
      async () => ({ artifacts: await plane.retention.list() }),
    );

    app.get(
      '/v1/cache/stats',
      { config: { permission: 'metrics:view' }, schema: { summary: 'The build cache: entries, size, hit rate, evictions', tags: ['builds'] } },
      async () => plane.buildCache.stats(),
    );

    app.get(
      '/v1/builds/:id',
      { config: { permission: { permission: 'project:view', project: (request) => projectOfBuild(store, paramOf(request, 'id')) } }, schema: { summary: 'One build with its steps', tags: ['builds'], params: z.object({ id: z.string() }), response: { 200: BuildView } } },
      async (request) => view(await requireBuild(request.params.id)),
    );

    app.post(
      '/v1/builds/:id/cancel',
      {
        config: { permission: { permission: async (request) => deployPermissionOfDeployment(store, (await store.builds.get(paramOf(request, 'id') ?? ''))?.deploymentId), project: (request) => projectOfBuild(store, paramOf(request, 'id')) } },
        schema: {
          summary: 'Cancel a queued or running build; its processes are stopped',
          tags: ['builds'],
          params: z.object({ id: z.string() }),
          response: { 200: BuildView },
        },
      },
      async (request) => {
        const build = await requireBuild(request.params.id);
        if (build.status !== 'pending' && build.status !== 'running') {
          throw new MaestroError('conflict', `build ${build.id} is ${build.status}; only a queued or running build can be cancelled`);
        }
        await plane.cancelBuild(build.id);
        return view((await store.builds.get(build.id))!);
      },
    );
  };
}
