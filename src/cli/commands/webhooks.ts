import type { Command } from 'commander';
import { ApiClient } from '../api-client.js';
import { resolveCredentials } from '../credentials.js';
import { createOutput, table } from '../output.js';
import { readEvents } from '../sse.js';

interface WebhookView {
  id: string;
  url: string;
  events: string[];
  project: string | null;
  createdBy: string | null;
  createdAt: string;
}

interface DeliveryView {
  id: string;
  webhook: string;
  event: { id: number; type: string };
  status: string;
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  lastAttemptAt: string | null;
  nextAttemptAt: string | null;
  deliveredAt: string | null;
  createdAt: string;
}

interface EventView {
  id: number;
  type: string;
  deploymentId: string | null;
  projectId: string | null;
  releaseId: string | null;
  revisionId: string | null;
  actor: string | null;
  reason: string | null;
  at: string;
}

const list = (value: string): string[] => value.split(',').map((v) => v.trim()).filter(Boolean);
const id = (value: string): string => encodeURIComponent(value);

function eventLine(event: EventView): string {
  const parts = [event.at, event.type.padEnd(26), event.deploymentId ?? '-'];
  if (event.releaseId) parts.push(`release ${event.releaseId}`);
  if (event.revisionId) parts.push(`revision ${event.revisionId}`);
  if (event.actor) parts.push(`by ${event.actor}`);
  if (event.reason) parts.push(`: ${event.reason}`);
  return parts.join('  ');
}

function deliveryOutcome(d: DeliveryView): string {
  if (d.status === 'succeeded') return `answered ${d.lastStatusCode ?? '-'}`;
  const last = d.lastError ?? (d.lastStatusCode === null ? '' : `answered ${d.lastStatusCode}`);
  if (d.status === 'pending' && d.nextAttemptAt) return `${last ? `${last}; ` : ''}next try ${d.nextAttemptAt}`;
  return last || '-';
}

/** `maestro webhooks ...` and `maestro events`: where lifecycle events go, and what happened. */
export function webhooksCommands(program: Command): void {
  const webhooks = program.command('webhooks').description('Send lifecycle events (deployment.started, .failed, ...) to URLs, signed');

  webhooks
    .command('add')
    .description('Add a webhook; its signing secret is printed once')
    .argument('<url>', 'an http or https URL')
    .option('-e, --events <types>', "event types separated by commas, or '*' for all", '*')
    .option('-p, --project <name>', "only this project's events")
    .option('--secret <secret>', 'the signing secret to use (16+ characters); one is generated when absent')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      "\nExamples:\n  maestro webhooks add https://ci.example.com/maestro\n  maestro webhooks add https://chat.example.com/hook --events deployment.failed,deployment.rolled_back --project shop\n\nEach request carries X-Maestro-Signature: sha256=<HMAC-SHA256 of the body with the secret>.\n",
    )
    .action(async (url: string, options: { events: string; project?: string; secret?: string; json?: boolean }) => {
      const out = createOutput(options);
      const created = await new ApiClient(resolveCredentials()).call<WebhookView & { secret: string }>('POST', '/v1/webhooks', {
        url,
        events: list(options.events),
        ...(options.project ? { project: options.project } : {}),
        ...(options.secret ? { secret: options.secret } : {}),
      });
      out.result(created, () => [
        `webhook ${created.id} sends ${created.events.join(', ')}${created.project ? ` of ${created.project}` : ''} to ${created.url}`,
        `signing secret (shown only now): ${created.secret}`,
      ]);
    });

  webhooks
    .command('ls')
    .description('Webhooks')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const out = createOutput(options);
      const result = await new ApiClient(resolveCredentials()).call<{ webhooks: WebhookView[] }>('GET', '/v1/webhooks');
      out.result(result, () =>
        result.webhooks.length === 0
          ? 'no webhooks (add one with `maestro webhooks add URL`)'
          : table([['ID', 'URL', 'EVENTS', 'PROJECT', 'CREATED'], ...result.webhooks.map((w) => [w.id, w.url, w.events.join(','), w.project ?? '*', w.createdAt])]),
      );
    });

  webhooks
    .command('rm')
    .description('Remove a webhook (events not yet delivered to it are dropped)')
    .argument('<id>', 'the webhook id (see `maestro webhooks ls`)')
    .option('--json', 'print JSON')
    .action(async (webhook: string, options: { json?: boolean }) => {
      const out = createOutput(options);
      const result = await new ApiClient(resolveCredentials()).call<{ removed: string }>('DELETE', `/v1/webhooks/${id(webhook)}`);
      out.result(result, () => `removed webhook ${result.removed}`);
    });

  webhooks
    .command('deliveries')
    .description("A webhook's deliveries: status, attempts, last answer, next try")
    .argument('<id>', 'the webhook id')
    .option('-s, --status <status>', 'only pending, delivering, succeeded or dead (the dead letters)')
    .option('-n, --limit <count>', 'how many', '50')
    .option('--json', 'print JSON')
    .action(async (webhook: string, options: { status?: string; limit: string; json?: boolean }) => {
      const out = createOutput(options);
      const query = new URLSearchParams({ limit: String(Number(options.limit) || 50), ...(options.status ? { status: options.status } : {}) });
      const result = await new ApiClient(resolveCredentials()).call<{ deliveries: DeliveryView[] }>('GET', `/v1/webhooks/${id(webhook)}/deliveries?${query}`);
      out.result(result, () =>
        result.deliveries.length === 0
          ? 'no deliveries'
          : table([
              ['DELIVERY', 'EVENT', 'STATUS', 'ATTEMPTS', 'OUTCOME'],
              ...result.deliveries.map((d) => [d.id, `${d.event.type} #${d.event.id}`, d.status, String(d.attempts), deliveryOutcome(d)]),
            ]),
      );
    });

  webhooks
    .command('redeliver')
    .description('Send a delivery again now (a dead letter, or one already delivered)')
    .argument('<delivery>', 'the delivery id (see `maestro webhooks deliveries ID`)')
    .option('--json', 'print JSON')
    .action(async (delivery: string, options: { json?: boolean }) => {
      const out = createOutput(options);
      const result = await new ApiClient(resolveCredentials()).call<DeliveryView>('POST', `/v1/deliveries/${id(delivery)}/redeliver`);
      out.result(result, () => `delivery ${result.id} (${result.event.type} #${result.event.id}) is queued again`);
    });

  program
    .command('events')
    .description('Lifecycle events: deployments started, health checks, canary promotions, successes, failures, rollbacks')
    .option('-t, --type <types>', 'only these types, separated by commas')
    .option('-p, --project <name>', 'only this project')
    .option('-d, --deployment <id>', 'only this deployment')
    .option('-n, --limit <count>', 'how many recent events to show first', '50')
    .option('-f, --follow', 'keep printing new events as they happen')
    .option('--json', 'print JSON (one event per line with --follow)')
    .addHelpText('after', '\nExamples:\n  maestro events --project shop\n  maestro events --type deployment.failed,deployment.rolled_back -f\n')
    .action(async (options: { type?: string; project?: string; deployment?: string; limit: string; follow?: boolean; json?: boolean }) => {
      const out = createOutput(options);
      const client = new ApiClient(resolveCredentials());
      const filter = {
        ...(options.type ? { type: options.type } : {}),
        ...(options.project ? { project: options.project } : {}),
        ...(options.deployment ? { deployment: options.deployment } : {}),
      };
      const query = new URLSearchParams({ ...filter, newest: 'true', limit: String(Number(options.limit) || 50) });
      const result = await client.call<{ events: EventView[]; cursor: number }>('GET', `/v1/events?${query}`);
      if (!options.follow) {
        out.result(result, () => (result.events.length === 0 ? 'no events' : result.events.map(eventLine)));
        return;
      }
      const print = (event: EventView): void => {
        process.stdout.write(`${options.json ? JSON.stringify(event) : eventLine(event)}\n`);
      };
      result.events.forEach(print);
      const stream = new URLSearchParams({ ...filter, after: String(result.cursor) });
      for await (const message of readEvents(client, `/v1/events/stream?${stream}`)) print(message.data as EventView);
    });
}
