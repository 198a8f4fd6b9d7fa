/**
 * Asking a webhook gate: POST the moment of the rollout as JSON, signed like outgoing webhooks when the
 * gate names a secret, within its timeout. A 2xx answer passes; any other answer, a connection error or
 * no answer in time fails. Never throws: the result says what happened, without the secret.
 */
import { formatDuration } from '../common/units.js';
import { postSigned } from '../events/index.js';
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
  let secret: string | undefined;
  if (gate.secretEnv !== undefined) {
    secret = (options.env ?? process.env)[gate.secretEnv];
    // Fail closed: a gate that expects signed requests must not be sent unsigned ones.
    if (!secret) return ended('fail', `could not be signed: ${gate.secretEnv} is not set in the control plane's environment`);
  }
  const outcome = await postSigned({
    url: gate.webhook,
    body: gateBody(gate, context, now()),
    event: `gate.${gate.stage}`,
    delivery: gate.id,
    ...(secret === undefined ? {} : { secret }),
    userAgent: 'Maestro-Gates',
    timeoutMs: gate.timeoutMs,
    ...(options.signal ? { signal: options.signal } : {}),
    now,
  });
  switch (outcome.kind) {
    case 'answered': {
      const status = outcome.statusCode;
      if (status >= 200 && status < 300) {
        await outcome.body.dump().catch(() => undefined);
        return ended('pass', `answered ${status}`);
      }
      const said = await firstLine(outcome.body);
      return ended('fail', `answered ${status}${said ? ` (${said})` : ''}`);
    }
    case 'timed_out':
      return ended('fail', `did not answer within ${formatDuration(gate.timeoutMs)}`);
    case 'stopped':
      return ended('fail', 'was not answered before the rollout ended');
    case 'unreachable':
      return ended('fail', `could not be reached (${outcome.error})`);
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
