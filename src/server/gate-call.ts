/**
 * Asking a webhook gate: POST the moment of the rollout as JSON, signed like outgoing webhooks when the
 * gate names a secret, within its timeout. A 2xx answer passes; any other answer, a connection error or
 * no answer in time fails. Never throws: the result says what happened, without the secret.
 */
import { request } from 'undici';
import { errorMessage } from '../common/index.js';
import { formatDuration } from '../common/units.js';
import { DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, signWebhookBody } from '../events/index.js';
import type { GateRequest, GateResult } from '../rollout/strategies/index.js';

/** What the gate is told besides the moment itself. */
export interface GateContext {
  project: string;
  service: string;
  environment: string;
  deploymentId: string;
  revisionId: string;
  stableRevisionId?: string;
  strategy: string;
}

export interface GateCallOptions {
  /** Where `secretEnv` is looked up: the control plane's own environment. */
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  now?: () => number;
}

/** Enough of a refusal's body to say why ("load test p99 1.2s over 800ms"), never more. */
const REASON_BYTES = 200;

/** The exact bytes sent (and signed). */
export function gateBody(gate: GateRequest, context: GateContext, at: number): string {
  return JSON.stringify({
    type: `gate.${gate.stage}`,
    stage: gate.stage,
    gateId: gate.id,
    project: context.project,
    service: context.service,
    environment: context.environment,
    deploymentId: context.deploymentId,
    revisionId: context.revisionId,
    stableRevisionId: context.stableRevisionId ?? null,
    strategy: context.strategy,
    currentWeight: gate.currentWeight,
    nextWeight: gate.nextWeight,
    at: new Date(at).toISOString(),
  });
}

export async function callGate(gate: GateRequest, context: GateContext, options: GateCallOptions = {}): Promise<GateResult> {
  const now = options.now ?? Date.now;
  const ended = (outcome: GateResult['outcome'], reason: string): GateResult => ({ id: gate.id, outcome, reason, at: now() });
  const body = gateBody(gate, context, now());
  let signature: Record<string, string> = {};
  if (gate.secretEnv !== undefined) {
    const secret = (options.env ?? process.env)[gate.secretEnv];
    // Fail closed: a gate that expects signed requests must not be sent unsigned ones.
    if (!secret) return ended('fail', `could not be signed: ${gate.secretEnv} is not set in the control plane's environment`);
    signature = { [SIGNATURE_HEADER]: signWebhookBody(secret, body) };
  }
  const timeout = AbortSignal.timeout(gate.timeoutMs);
  const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
  try {
    const response = await request(gate.webhook, {
      method: 'POST',
      body,
      signal,
      headersTimeout: gate.timeoutMs,
      bodyTimeout: gate.timeoutMs,
      headers: {
        'content-type': 'application/json',
        'user-agent': 'Maestro-Gates',
        [EVENT_HEADER]: `gate.${gate.stage}`,
        [DELIVERY_HEADER]: gate.id,
        [TIMESTAMP_HEADER]: String(Math.floor(now() / 1000)),
        ...signature,
      },
    });
    const status = response.statusCode;
    if (status >= 200 && status < 300) {
      await response.body.dump().catch(() => undefined);
      return ended('pass', `answered ${status}`);
    }
    const said = await firstLine(response.body);
    return ended('fail', `answered ${status}${said ? ` (${said})` : ''}`);
  } catch (error) {
    if (timeout.aborted) return ended('fail', `did not answer within ${formatDuration(gate.timeoutMs)}`);
    if (options.signal?.aborted) return ended('fail', 'was not answered before the rollout ended');
    return ended('fail', `could not be reached (${errorMessage(error)})`);
  }
}

/** The first line of the answer, read only as far as needed. */
async function firstLine(body: AsyncIterable<Buffer>): Promise<string> {
  let text = '';
  try {
    for await (const chunk of body) {
      text += chunk.toString('utf8');
      if (text.length > REASON_BYTES * 4) break;
    }
  } catch {
    // What arrived is enough: the status already decided.
  }
  const line = text.trim().split('\n')[0]?.trim() ?? '';
  return line.length > REASON_BYTES ? `${line.slice(0, REASON_BYTES)}…` : line;
}
