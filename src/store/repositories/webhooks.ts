import { MaestroError } from '../../common/index.js';
import type { Queryable } from '../db.js';
import { newId } from '../ids.js';
import { compact, num, opt } from '../rows.js';
import { checkLimit, checkText } from '../validate.js';
import { toLifecycleEventRecord, type LifecycleEventRecord, type LifecycleEventRow } from './lifecycle-events.js';

/** Where lifecycle events are sent. The secret is not part of it: the API shows it once, at creation. */
export interface Webhook {
  id: string;
  url: string;
  /** Event types, or '*' for all. */
  events: string[];
  /** Only this project's events; all projects when absent. */
  projectId?: string;
  createdBy?: string;
  createdAt: Date;
}

export type DeliveryStatus = 'pending' | 'delivering' | 'succeeded' | 'dead';
export const DELIVERY_STATUSES: readonly DeliveryStatus[] = ['pending', 'delivering', 'succeeded', 'dead'];

/** One event on its way to one webhook: a row of the outbox. */
export interface WebhookDelivery {
  id: string;
  webhookId: string;
  eventId: number;
  eventType: string;
  status: DeliveryStatus;
  attempts: number;
  /** When the next attempt is due (pending deliveries only). */
  nextAttemptAt?: Date;
  lastStatusCode?: number;
  lastError?: string;
  lastAttemptAt?: Date;
  deliveredAt?: Date;
  createdAt: Date;
}

/** A delivery leased to one dispatcher, with what it needs to send it. */
export interface ClaimedDelivery {
  delivery: WebhookDelivery;
  url: string;
  secret: string;
  event: LifecycleEventRecord;
}

/** What the dispatcher decided after an attempt. */
export type DeliveryOutcome =
  | { status: 'succeeded'; statusCode: number }
  | { status: 'pending'; retryInMs: number; statusCode?: number; error: string }
  | { status: 'dead'; statusCode?: number; error: string };

interface WebhookRow {
  id: string;
  url: string;
  events: string[];
  project_id: string | null;
  created_by: string | null;
  created_at: Date;
}

interface DeliveryRow {
  id: string;
  webhook_id: string;
  event_id: string | number;
  event_type: string;
  status: DeliveryStatus;
  attempts: number;
  next_attempt_at: Date;
  last_status_code: number | null;
  last_error: string | null;
  last_attempt_at: Date | null;
  delivered_at: Date | null;
  created_at: Date;
}

const toWebhook = (row: WebhookRow): Webhook =>
  compact({
    id: row.id,
    url: row.url,
    events: row.events,
    projectId: opt(row.project_id),
    createdBy: opt(row.created_by),
    createdAt: row.created_at,
  });

const toDelivery = (row: DeliveryRow): WebhookDelivery =>
  compact({
    id: row.id,
    webhookId: row.webhook_id,
    eventId: num(row.event_id),
    eventType: row.event_type,
    status: row.status,
    attempts: row.attempts,
    nextAttemptAt: row.status === 'pending' ? row.next_attempt_at : undefined,
    lastStatusCode: opt(row.last_status_code),
    lastError: opt(row.last_error),
    lastAttemptAt: opt(row.last_attempt_at),
    deliveredAt: opt(row.delivered_at),
    createdAt: row.created_at,
  });

const DELIVERY_COLUMNS = `d.id, d.webhook_id, d.event_id, d.status, d.attempts, d.next_attempt_at, d.last_status_code,
  d.last_error, d.last_attempt_at, d.delivered_at, d.created_at`;

export interface WebhooksRepository {
  create(input: { url: string; events: string[]; projectId?: string; secret: string; createdBy?: string }): Promise<Webhook>;
  list(): Promise<Webhook[]>;
  get(id: string): Promise<Webhook | undefined>;
  /** Removes the webhook and its deliveries (pending ones are never sent); false when there was none. */
  remove(id: string): Promise<boolean>;
}

export interface DeliveriesRepository {
  /**
   * Leases up to `limit` due deliveries to `owner` (pending and due, or in flight with an expired lease:
   * their dispatcher died) and counts the attempt. SKIP LOCKED lets several control planes share the work.
   */
  claimDue(options: { owner: string; leaseMs: number; limit: number }): Promise<ClaimedDelivery[]>;
  /** Records an attempt's outcome; only the lease holder may. Undefined when the lease was lost. */
  record(id: string, owner: string, outcome: DeliveryOutcome): Promise<WebhookDelivery | undefined>;
  /** Newest first; `status: 'dead'` is the dead-letter list. */
  list(filter: { webhookId?: string; status?: DeliveryStatus; limit?: number }): Promise<WebhookDelivery[]>;
  get(id: string): Promise<WebhookDelivery | undefined>;
  /** A finished (dead or succeeded) or waiting delivery goes out again now, with a fresh count of attempts. */
  redeliver(id: string): Promise<WebhookDelivery>;
  /** When the earliest pending delivery is due, so a dispatcher can sleep until then. */
  nextDueAt(): Promise<Date | undefined>;
}

export function webhooksRepository(q: Queryable): WebhooksRepository {
  return {
    async create({ url, events, projectId, secret, createdBy }) {
      checkText('url', url);
      checkText('secret', secret);
      if (events.length === 0) throw new MaestroError('validation_error', 'events must name at least one event type, or "*" for all', { field: 'events' });
      const rows = await q.query<WebhookRow>(
        `INSERT INTO webhooks (id, url, events, project_id, secret, created_by) VALUES ($1, $2, $3::text[], $4, $5, $6)
         RETURNING id, url, events, project_id, created_by, created_at`,
        [newId('whk'), url, events, projectId ?? null, secret, createdBy ?? null],
      );
      return toWebhook(rows[0]!);
    },

    async list() {
      const rows = await q.query<WebhookRow>('SELECT id, url, events, project_id, created_by, created_at FROM webhooks ORDER BY seq');
      return rows.map(toWebhook);
    },

    async get(id) {
      const rows = await q.query<WebhookRow>('SELECT id, url, events, project_id, created_by, created_at FROM webhooks WHERE id = $1', [id]);
      return rows[0] && toWebhook(rows[0]);
    },

    async remove(id) {
      const rows = await q.query('DELETE FROM webhooks WHERE id = $1 RETURNING id', [id]);
      return rows.length === 1;
    },
  };
}

export function deliveriesRepository(q: Queryable): DeliveriesRepository {
  async function get(id: string): Promise<WebhookDelivery | undefined> {
    const rows = await q.query<DeliveryRow>(
      `SELECT ${DELIVERY_COLUMNS}, e.type AS event_type FROM webhook_deliveries d JOIN events e ON e.id = d.event_id WHERE d.id = $1`,
      [id],
    );
    return rows[0] && toDelivery(rows[0]);
  }

  return {
    async claimDue({ owner, leaseMs, limit }) {
      checkText('owner', owner);
      const rows = await q.query<
        DeliveryRow & { url: string; secret: string; e_id: string | number; e_deployment_id: string | null; e_project_id: string | null } & Record<string, unknown>
      >(
        `WITH pick AS (
           SELECT id FROM webhook_deliveries
           WHERE (status = 'pending' AND next_attempt_at <= now()) OR (status = 'delivering' AND lease_expires_at < now())
           ORDER BY next_attempt_at, seq
           FOR UPDATE SKIP LOCKED
           LIMIT $3
         )
         UPDATE webhook_deliveries d SET status = 'delivering', lease_owner = $1,
           lease_expires_at = now() + make_interval(secs => $2::double precision / 1000),
           attempts = d.attempts + 1, last_attempt_at = now()
         FROM pick, webhooks w, events e
         WHERE d.id = pick.id AND w.id = d.webhook_id AND e.id = d.event_id
         RETURNING ${DELIVERY_COLUMNS}, e.type AS event_type, w.url, w.secret,
           e.id AS e_id, e.deployment_id AS e_deployment_id, e.project_id AS e_project_id, e.release_id AS e_release_id,
           e.revision_id AS e_revision_id, e.actor AS e_actor, e.reason AS e_reason, e.data AS e_data, e.created_at AS e_created_at`,
        [owner, leaseMs, limit],
      );
      return rows.map((row) => {
        const event: LifecycleEventRow = {
          id: row.e_id,
          type: row.event_type,
          deployment_id: row.e_deployment_id,
          project_id: row.e_project_id,
          release_id: row.e_release_id as string | null,
          revision_id: row.e_revision_id as string | null,
          actor: row.e_actor as string | null,
          reason: row.e_reason as string | null,
          data: row.e_data,
          created_at: row.e_created_at as Date,
        };
        return { delivery: toDelivery(row), url: row.url, secret: row.secret, event: toLifecycleEventRecord(event) };
      });
    },

    async record(id, owner, outcome) {
      const rows = await q.query<{ id: string }>(
        `UPDATE webhook_deliveries SET status = $3, last_status_code = $4, last_error = $5,
           next_attempt_at = now() + make_interval(secs => $6::double precision / 1000),
           delivered_at = CASE WHEN $3 = 'succeeded' THEN now() ELSE NULL END,
           lease_owner = NULL, lease_expires_at = NULL
         WHERE id = $1 AND lease_owner = $2 AND status = 'delivering' RETURNING id`,
        [
          id,
          owner,
          outcome.status,
          outcome.statusCode ?? null,
          outcome.status === 'succeeded' ? null : outcome.error,
          outcome.status === 'pending' ? outcome.retryInMs : 0,
        ],
      );
      return rows[0] ? get(id) : undefined;
    },

    async list({ webhookId, status, limit }) {
      const rows = await q.query<DeliveryRow>(
        `SELECT ${DELIVERY_COLUMNS}, e.type AS event_type FROM webhook_deliveries d JOIN events e ON e.id = d.event_id
         WHERE ($1::text IS NULL OR d.webhook_id = $1) AND ($2::text IS NULL OR d.status = $2)
         ORDER BY d.seq DESC LIMIT $3`,
        [webhookId ?? null, status ?? null, checkLimit(limit, 100, 1000)],
      );
      return rows.map(toDelivery);
    },

    get,

    async redeliver(id) {
      const rows = await q.query<{ id: string }>(
        `UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = now(), delivered_at = NULL
         WHERE id = $1 AND status IN ('pending', 'succeeded', 'dead') RETURNING id`,
        [id],
      );
      const delivery = await get(id);
      if (!delivery) throw new MaestroError('not_found', `no delivery ${id}: see \`maestro webhooks deliveries <webhook>\``, { id });
      if (!rows[0]) throw new MaestroError('conflict', `delivery ${id} is being sent right now; try again when it has finished`, { id });
      return delivery;
    },

    async nextDueAt() {
      const rows = await q.query<{ at: Date | null }>(
        `SELECT min(at) AS at FROM (
           SELECT min(next_attempt_at) AS at FROM webhook_deliveries WHERE status = 'pending'
           UNION ALL SELECT min(lease_expires_at) FROM webhook_deliveries WHERE status = 'delivering'
         ) due`,
      );
      return opt(rows[0]?.at);
    },
  };
}
