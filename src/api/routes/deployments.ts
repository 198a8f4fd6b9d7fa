import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { DeploymentEvent } from '../../events/index.js';
import { isDeploymentStatus, isTerminal } from '../../store/index.js';
import { bodyOf, deployPermissionIn, paramOf, projectOfDeployment, queryOf } from '../access-lookups.js';
import { isPerson } from '../auth.js';
import type { ApiContext } from '../context.js';
import { DeploymentView, NAME } from '../schemas.js';
import { openEventStream } from '../sse.js';


export function deploymentRoutes(context: ApiContext): FastifyPluginAsyncZod {
  const { plane, store } = context;
  return async (app) => {
    app.post(
      '/v1/projects/:project/deployments',
      {
        config: {
          permission: { permission: (request) => deployPermissionIn(store, paramOf(request, 'project'), bodyOf(request, 'environment') ?? 'production') },
          // A person deploying to production by hand, outside the pipeline (git pushes, provider webhooks), says why.
          reason: (request) => request.access?.permission === 'deploy:production' && isPerson(request.actor),
        },
        schema: {
          summary: 'Deploy an uploaded source to an environment',
          description: 'Creates one deployment per selected service of the maestro.yml inside the source. Idempotent while in progress.',
          tags: ['deployments'],
          params: z.object({ project: NAME }),
          body: z.object({
            source: z.string().regex(/^[0-9a-f]{64}$/, 'must be the sha256 digest returned by POST /v1/sources'),
            environment: NAME.default('production'),
            services: z.array(NAME).optional(),
            reason: z.string().max(500).optional().describe('Why: required from a person deploying to production'),
          }),
          response: { 201: z.object({ deployments: z.array(DeploymentView) }) },
        },
      },
      async (request, reply) => {
        const deployments = await plane.createDeployments({
          project: request.params.project,
          sourceDigest: request.body.source,
          environment: request.body.environment,
          ...(request.body.services ? { services: request.body.services } : {}),
          ...(request.actor ? { createdBy: request.actor.name } : {}),
        });
        return reply.status(201).send({ deployments });
      },
    );

    app.get(
      '/v1/deployments',
      {
        config: { permission: { permission: 'project:view', project: (request) => queryOf(request, 'project') } },
        schema: {
          summary: 'List deployments, newest first',
          tags: ['deployments'],
          querystring: z.object({
            project: z.string().optional(),
            service: z.string().optional(),
            environment: z.string().optional(),
            limit: z.coerce.number().int().min(1).max(500).default(50),
          }),
          response: { 200: z.object({ deployments: z.array(DeploymentView) }) },
        },
      },
      async (request) => ({ deployments: await plane.listDeployments(request.query) }),
    );

    app.get(
      '/v1/deployments/:id',
      {
        config: { permission: { permission: 'project:view', project: (request) => projectOfDeployment(store, paramOf(request, 'id')) } },
        schema: { summary: 'One deployment', tags: ['deployments'], params: z.object({ id: z.string() }), response: { 200: DeploymentView } },
      },
      async (request) => plane.getDeployment(request.params.id),
    );

    app.get(
      '/v1/deployments/:id/events',
      {
        // The events carry the build's log lines.
        config: { permission: { permission: 'logs:view', project: (request) => projectOfDeployment(store, paramOf(request, 'id')) } },
        schema: {
          summary: 'Server-sent events of a deployment: status, steps, log lines',
          description: 'Replays recorded events after `after` (or Last-Event-ID), then streams live ones; ends after the final status.',
          tags: ['deployments'],
          params: z.object({ id: z.string() }),
          querystring: z.object({
            after: z.coerce.number().int().min(0).optional(),
            follow: z.enum(['true', 'false']).default('true'),
          }),
        },
      },
      async (request, reply) => {
        const deployment = await plane.getDeployment(request.params.id);
        const lastEventId = Number(request.headers['last-event-id'] ?? NaN);
        let after = request.query.after ?? (Number.isFinite(lastEventId) ? lastEventId : 0);
        const stream = openEventStream(reply);
        const queue: DeploymentEvent[] = [];
        let live = false;
        const unsubscribe = plane.bus.subscribe(deployment.id, (event) => {
          if (live) send(event);
          else queue.push(event);
        });
        const send = (event: DeploymentEvent): void => {
          if (event.id <= after) return;
          after = event.id;
          stream.send(event.type, event, event.id);
          if (event.type === 'status' && isDeploymentStatus(event.data.status) && isTerminal(event.data.status)) finish();
        };
        const finish = (): void => {
          stream.end();
        };
        const replay = async (): Promise<void> => {
          for (const stored of await store.events.listSince(after, { deploymentId: deployment.id })) {
            send({ id: stored.id, deploymentId: deployment.id, type: stored.type as DeploymentEvent['type'], data: stored.data as Record<string, unknown>, at: stored.createdAt.toISOString() });
          }
        };
        // Runners on other machines record events in the store without telling this process: look there too.
        const poll = setInterval(() => void replay().catch(() => undefined), 500);
        stream.onClose(() => {
          clearInterval(poll);
          unsubscribe();
        });
        await replay();
        if (request.query.follow === 'false') {
          finish();
          return reply;
        }
        live = true;
        for (const event of queue.splice(0)) send(event);
        // A deployment that ended before its final event was recorded (a crash) still ends the stream.
        const now = await plane.getDeployment(deployment.id);
        if (isTerminal(now.status) && !stream.closed) {
          stream.send('status', { id: after, deploymentId: now.id, type: 'status', data: { status: now.status, error: now.error }, at: new Date().toISOString() }, after);
          finish();
        }
        return reply;
      },
    );
  };
}
