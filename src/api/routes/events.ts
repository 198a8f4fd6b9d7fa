import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { MaestroError } from '../../common/index.js';
import {
  LIFECYCLE_EVENT_TYPES,
  checkWebhookEvents,
  checkWebhookSecret,
  checkWebhookUrl,
  generateWebhookSecret,
  toLifecycleEvent,
  type LifecycleEvent,
} from '../../events/index.js';
import { DELIVERY_STATUSES, type Store, type Webhook, type WebhookDelivery } from '../../store/index.js';
import type { ApiContext } from '../context.js';
import { paramOf, projectOfDelivery, projectOfWebhook, queryOf } from '../access-lookups.js';
import { openEventStream } from '../sse.js';

const LifecycleEventView = z.object({
  id: z.number(),
  type: z.enum(LIFECYCLE_EVENT_TYPES),
  deploymentId: z.string().nullable(),
  projectId: z.string().nullable(),
  releaseId: z.string().nullable(),
  revisionId: z.string().nullable(),
  actor: z.string().nullable(),
  reason: z.string().nullable(),
  data: z.record(z.string(), z.unknown()),
  at: z.string(),
});

const WebhookView = z.object({
  id: z.string(),
  url: z.string(),
  events: z.array(z.string()),
  project: z.string().nullable(),
  createdBy: z.string().nullable(),
  createdAt: z.string(),
});

const DeliveryView = z.object({
  id: z.string(),
  webhook: z.string(),
  event: z.object({ id: z.number(), type: z.string() }),
  status: z.enum(DELIVERY_STATUSES),
  attempts: z.number(),
  lastStatusCode: z.number().nullable(),
  lastError: z.string().nullable(),
  lastAttemptAt: z.string().nullable(),
  nextAttemptAt: z.string().nullable(),
  deliveredAt: z.string().nullable(),
  createdAt: z.string(),
});

const EventFilter = z.object({
  type: z.string().optional().describe('one type or several separated by commas'),
  project: z.string().optional().describe('project name'),
  deployment: z.string().optional(),
});

const iso = (date: Date | undefined): string | null => (date ? date.toISOString() : null);

function deliveryView(delivery: WebhookDelivery): z.infer<typeof DeliveryView> {
  return {
    id: delivery.id,
    webhook: delivery.webhookId,
    event: { id: delivery.eventId, type: delivery.eventType },
    status: delivery.status,
    attempts: delivery.attempts,
    lastStatusCode: delivery.lastStatusCode ?? null,
    lastError: delivery.lastError ?? null,
    lastAttemptAt: iso(delivery.lastAttemptAt),
    nextAttemptAt: iso(delivery.nextAttemptAt),
    deliveredAt: iso(delivery.deliveredAt),
    createdAt: delivery.createdAt.toISOString(),
  };
}

async function webhookView(store: Store, webhook: Webhook): Promise<z.infer<typeof WebhookView>> {
  const project = webhook.projectId ? await store.projects.getById(webhook.projectId) : undefined;
  return {
    id: webhook.id,
    url: webhook.url,
    events: webhook.events,
    project: project?.name ?? null,
    createdBy: webhook.createdBy ?? null,
    createdAt: webhook.createdAt.toISOString(),
  };
}

async function projectIdOf(store: Store, name: string | undefined): Promise<string | undefined> {
  if (name === undefined) return undefined;
  const project = await store.projects.get(name);
  if (!project) throw new MaestroError('not_found', `no project named ${JSON.stringify(name)}`, { project: name });
  return project.id;
}

/** The `type` filter: comma-separated lifecycle types; all of them when absent. */
function typesOf(value: string | undefined): string[] {
  if (value === undefined || value.trim() === '') return [...LIFECYCLE_EVENT_TYPES];
  const types = checkWebhookEvents(value.split(','));
  return types.includes('*') ? [...LIFECYCLE_EVENT_TYPES] : types;
}

async function webhookOr404(store: Store, id: string): Promise<Webhook> {
  const webhook = await store.webhooks.get(id);
  if (!webhook) throw new MaestroError('not_found', `no webhook ${id}: see \`maestro webhooks ls\``, { id });
  return webhook;
}

export function eventRoutes(context: ApiContext): FastifyPluginAsyncZod {
  const { plane, store } = context;
  return async (app) => {
    app.get(
      '/v1/events',
      {
        config: { permission: { permission: 'project:view', project: (request) => queryOf(request, 'project') } },
        schema: {
          summary: 'Lifecycle events, oldest first',
          description: 'Pass the last id you saw as `after` to get what came next (`cursor` in the answer); `newest=true` gives the latest `limit` events instead.',
          tags: ['events'],
          querystring: EventFilter.extend({
            after: z.coerce.number().int().min(0).default(0),
            limit: z.coerce.number().int().min(1).max(1000).default(100),
            newest: z.enum(['true', 'false']).default('false'),
          }),
          response: { 200: z.object({ events: z.array(LifecycleEventView), cursor: z.number() }) },
        },
      },
      async (request) => {
        const { type, project, deployment, after, limit, newest } = request.query;
        const projectId = await projectIdOf(store, project);
        const records = await store.lifecycle.list({
          types: typesOf(type),
          ...(projectId ? { projectId } : {}),
          ...(deployment ? { deploymentId: deployment } : {}),
          afterId: after,
          limit,
          newest: newest === 'true',
        });
        return { events: records.map(toLifecycleEvent), cursor: records.at(-1)?.id ?? after };
      },
    );

    app.get(
      '/v1/events/stream',
      {
        config: { permission: { permission: 'project:view', project: (request) => queryOf(request, 'project') } },
        schema: {
          summary: 'Server-sent lifecycle events: replays after `after` (or Last-Event-ID), then follows',
          tags: ['events'],
          querystring: EventFilter.extend({ after: z.coerce.number().int().min(0).optional() }),
        },
      },
      async (request, reply) => {
        const { type, project, deployment } = request.query;
        const types = new Set(typesOf(type));
        const projectId = await projectIdOf(store, project);
        const lastEventId = Number(request.headers['last-event-id'] ?? NaN);
        let after = request.query.after ?? (Number.isFinite(lastEventId) ? lastEventId : 0);
        const wanted = (event: LifecycleEvent): boolean =>
          types.has(event.type) && (!projectId || event.projectId === projectId) && (!deployment || event.deploymentId === deployment);

        const stream = openEventStream(reply);
        const send = (event: LifecycleEvent): void => {
          if (event.id <= after || !wanted(event)) return;
          after = event.id;
          stream.send(event.type, event, event.id);
        };
        // Replays run one at a time, so events go out in id order; live events that arrive while one
        // runs are picked up by it or the next one (the store is the one source of order).
        let replaying: Promise<void> = Promise.resolve();
        const replay = (): Promise<void> => {
          replaying = replaying.then(async () => {
            for (;;) {
              const records = await store.lifecycle.list({
                types: [...types],
                ...(projectId ? { projectId } : {}),
                ...(deployment ? { deploymentId: deployment } : {}),
                afterId: after,
                limit: 500,
              });
              for (const record of records) send(toLifecycleEvent(record));
              if (records.length < 500 || stream.closed) return;
            }
          }).catch(() => undefined);
          return replaying;
        };
        const unsubscribe = plane.bus.subscribeLifecycle((event) => {
          if (wanted(event) && event.id > after) void replay();
        });
        // Other control planes record events without telling this process: look in the store too.
        const poll = setInterval(() => void replay(), 1000);
        stream.onClose(() => {
          clearInterval(poll);
          unsubscribe();
        });
        await replay();
        return reply;
      },
    );

    app.post(
      '/v1/webhooks',
      {
        config: { permission: 'service:manage' },
        schema: {
          summary: 'Send lifecycle events to a URL',
          description: 'The answer holds the signing secret; it is not shown again. Deliveries carry X-Maestro-Signature: sha256=<HMAC of the body>.',
          tags: ['webhooks'],
          body: z.object({
            url: z.string().min(1).max(2048),
            events: z.array(z.string()).default(['*']),
            project: z.string().optional(),
            secret: z.string().optional(),
          }),
          response: { 201: WebhookView.extend({ secret: z.string() }) },
        },
      },
      async (request, reply) => {
        const url = checkWebhookUrl(request.body.url);
        const events = checkWebhookEvents(request.body.events);
        const secret = request.body.secret === undefined ? generateWebhookSecret() : checkWebhookSecret(request.body.secret);
        const projectId = await projectIdOf(store, request.body.project);
        const webhook = await store.webhooks.create({
          url,
          events,
          secret,
          ...(projectId ? { projectId } : {}),
          ...(request.actor ? { createdBy: request.actor.name } : {}),
        });
        return reply.status(201).send({ ...(await webhookView(store, webhook)), secret });
      },
    );

    app.get(
      '/v1/webhooks',
      { config: { permission: 'service:manage' }, schema: { summary: 'Webhooks (without their secrets)', tags: ['webhooks'], response: { 200: z.object({ webhooks: z.array(WebhookView) }) } } },
      async () => ({ webhooks: await Promise.all((await store.webhooks.list()).map((webhook) => webhookView(store, webhook))) }),
    );

    app.delete(
      '/v1/webhooks/:id',
      {
        config: { permission: { permission: 'service:manage', project: (request) => projectOfWebhook(store, paramOf(request, 'id')) } },
        schema: {
          summary: 'Remove a webhook; its undelivered events are dropped',
          tags: ['webhooks'],
          params: z.object({ id: z.string() }),
          response: { 200: z.object({ removed: z.string() }) },
        },
      },
      async (request) => {
        if (!(await store.webhooks.remove(request.params.id))) {
          throw new MaestroError('not_found', `no webhook ${request.params.id}: see \`maestro webhooks ls\``, { id: request.params.id });
        }
        return { removed: request.params.id };
      },
    );

    app.get(
      '/v1/webhooks/:id/deliveries',
      {
        config: { permission: { permission: 'service:manage', project: (request) => projectOfWebhook(store, paramOf(request, 'id')) } },
        schema: {
          summary: "A webhook's deliveries, newest first (status=dead: its dead letters)",
          tags: ['webhooks'],
          params: z.object({ id: z.string() }),
          querystring: z.object({ status: z.enum(DELIVERY_STATUSES).optional(), limit: z.coerce.number().int().min(1).max(1000).default(100) }),
          response: { 200: z.object({ deliveries: z.array(DeliveryView) }) },
        },
      },
      async (request) => {
        const webhook = await webhookOr404(store, request.params.id);
        const deliveries = await store.deliveries.list({
          webhookId: webhook.id,
          limit: request.query.limit,
          ...(request.query.status ? { status: request.query.status } : {}),
        });
        return { deliveries: deliveries.map(deliveryView) };
      },
    );

    app.get(
      '/v1/deliveries',
      {
        config: { permission: 'service:manage' },
        schema: {
          summary: 'Deliveries of every webhook, newest first (status=dead: the dead-letter list)',
          tags: ['webhooks'],
          querystring: z.object({ status: z.enum(DELIVERY_STATUSES).optional(), limit: z.coerce.number().int().min(1).max(1000).default(100) }),
          response: { 200: z.object({ deliveries: z.array(DeliveryView) }) },
        },
      },
      async (request) => {
        const deliveries = await store.deliveries.list({ limit: request.query.limit, ...(request.query.status ? { status: request.query.status } : {}) });
        return { deliveries: deliveries.map(deliveryView) };
      },
    );

    app.post(
      '/v1/deliveries/:id/redeliver',
      {
        config: { permission: { permission: 'service:manage', project: (request) => projectOfDelivery(store, paramOf(request, 'id')) } },
        schema: {
          summary: 'Send a delivery again now, with a fresh count of attempts',
          tags: ['webhooks'],
          params: z.object({ id: z.string() }),
          response: { 200: DeliveryView },
        },
      },
      async (request) => {
        const delivery = await store.deliveries.redeliver(request.params.id);
        plane.bus.deliveriesDue();
        return deliveryView(delivery);
      },
    );
  };
}
