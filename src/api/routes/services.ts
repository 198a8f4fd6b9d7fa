import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { deployPermissionIn, paramOf, queryOf } from '../access-lookups.js';
import type { ApiContext } from '../context.js';
import { DeploymentView, ReleaseView, RollbackResult, ServiceStatusView, TargetParams } from '../schemas.js';

const PREFIX = '/v1/projects/:project/services/:service/environments/:environment';

export function serviceRoutes(context: ApiContext): FastifyPluginAsyncZod {
  const { plane, store } = context;
  const deployHere = { permission: (request: FastifyRequest) => deployPermissionIn(store, paramOf(request, 'project'), paramOf(request, 'environment') ?? '') };
  return async (app) => {
    app.get(
      '/v1/status',
      {
        config: { permission: { permission: 'project:view', project: (request) => queryOf(request, 'project') } },
        schema: {
          summary: 'What serves where: every live service with its release, replicas and URL',
          tags: ['status'],
          querystring: z.object({ project: z.string().optional() }),
          response: { 200: z.object({ services: z.array(ServiceStatusView) }) },
        },
      },
      async (request) => ({ services: await plane.status(request.query.project ? { project: request.query.project } : {}) }),
    );

    app.get(
      `${PREFIX}/releases`,
      {
        config: { permission: 'project:view' },
        schema: {
          summary: 'Releases of a service in an environment, newest first',
          tags: ['releases'],
          params: TargetParams,
          querystring: z.object({ limit: z.coerce.number().int().min(1).max(1000).default(20) }),
          response: { 200: z.object({ releases: z.array(ReleaseView) }) },
        },
      },
      async (request) => {
        const { project, service, environment } = request.params;
        return { releases: await plane.releases(project, service, environment, request.query.limit) };
      },
    );

    app.post(
      `${PREFIX}/rollback`,
      {
        config: { permission: 'deploy:rollback' },
        schema: {
          summary: 'Move traffic back to an earlier release (default: the previous one)',
          tags: ['releases'],
          params: TargetParams,
          body: z.object({ to: z.number().int().min(1).optional(), reason: z.string().max(500).optional() }).default({}),
          response: { 200: RollbackResult },
        },
      },
      async (request) => {
        const { project, service, environment } = request.params;
        return plane.rollback({
          project,
          service,
          environment,
          ...(request.body.to !== undefined ? { to: request.body.to } : {}),
          ...(request.body.reason ? { reason: request.body.reason } : {}),
        });
      },
    );

    app.post(
      `${PREFIX}/promote`,
      {
        config: { permission: deployHere },
        schema: {
          summary: 'Move the rollout in progress on: past a pause, or (full) straight to 100%',
          tags: ['rollouts'],
          params: TargetParams,
          body: z.object({ full: z.boolean().default(false) }).default({ full: false }),
          response: { 200: DeploymentView },
        },
      },
      async (request) => plane.promote({ ...request.params, full: request.body.full, ...(request.actor ? { actor: request.actor.name } : {}) }),
    );

    app.post(
      `${PREFIX}/abort`,
      {
        config: { permission: deployHere },
        schema: {
          summary: 'Stop the rollout in progress: all traffic back to the stable revision at once (or cancel its build)',
          tags: ['rollouts'],
          params: TargetParams,
          body: z.object({ reason: z.string().max(500).optional() }).default({}),
          response: { 200: DeploymentView },
        },
      },
      async (request) =>
        plane.abort({ ...request.params, ...(request.body.reason ? { reason: request.body.reason } : {}), ...(request.actor ? { actor: request.actor.name } : {}) }),
    );

    app.get(
      `${PREFIX}/rollout`,
      {
        config: { permission: 'metrics:view' },
        schema: {
          summary: 'The latest rollout: its step, the traffic split and the analysis verdicts that decide it',
          tags: ['rollouts'],
          params: TargetParams,
          response: {
            200: z.object({
              deployment: DeploymentView.nullable(),
              strategy: z.string().nullable(),
              state: z
                .object({
                  phase: z.string(),
                  step: z.number().optional(),
                  steps: z.number().optional(),
                  targetWeight: z.number(),
                  detail: z.string(),
                  gates: z
                    .array(
                      z.object({
                        stage: z.string(),
                        webhook: z.string(),
                        nextWeight: z.number(),
                        outcome: z.enum(['pass', 'fail', 'pending']),
                        reason: z.string(),
                        at: z.string(),
                      }),
                    )
                    .optional()
                    .describe('Each webhook gate asked so far, oldest first, and the one being asked'),
                  providerErrors: z
                    .object({ count: z.number(), since: z.string(), budgetMs: z.number(), reason: z.string() })
                    .optional()
                    .describe('Present while a metric source keeps failing: the rollout holds, and pauses once past budgetMs'),
                })
                .nullable(),
              weights: z.array(z.object({ revision: z.string(), weight: z.number() })),
              analysis: z.array(z.object({ outcome: z.string(), reason: z.string(), at: z.string().nullable() })),
            }),
          },
        },
      },
      async (request) => plane.rolloutStatus(request.params.project, request.params.service, request.params.environment),
    );

    app.get(
      `${PREFIX}/logs`,
      {
        config: { permission: 'logs:view' },
        schema: {
          summary: 'Log lines of the live revision; `follow=true` streams them as NDJSON',
          tags: ['logs'],
          params: TargetParams,
          querystring: z.object({
            tail: z.coerce.number().int().min(0).max(10_000).default(100),
            follow: z.enum(['true', 'false', '1', '0']).optional(),
          }),
        },
      },
      async (request, reply) => {
        const { project, service, environment } = request.params;
        const replicas = await plane.liveReplicas(project, service, environment);
        const lines: Array<{ replica: string; line: string }> = [];
        for (const replica of replicas) {
          for (const line of await plane.agent.readLogs(replica.id, { tail: request.query.tail })) lines.push({ replica: replica.id, line });
        }
        const follow = request.query.follow === 'true' || request.query.follow === '1';
        if (!follow) return reply.send({ lines });
        reply.hijack();
        const raw = reply.raw;
        raw.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-cache' });
        for (const entry of lines) raw.write(JSON.stringify(entry) + '\n');
        const stops = replicas.map((replica) => plane.agent.followLogs(replica.id, (line) => raw.write(JSON.stringify({ replica: replica.id, line }) + '\n')));
        raw.on('close', () => stops.forEach((stop) => stop()));
        return reply;
      },
    );
  };
}
