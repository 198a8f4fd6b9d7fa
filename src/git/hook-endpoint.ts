/**
 * Answers a push's pre-receive hook: checks what it sent, hands the push to the PushReceiver, and streams
 * the receiver's progress and verdict back in the hook protocol (hook-protocol.ts).
 */
import type { ServerResponse } from 'node:http';
import { isAbsolute, relative, resolve } from 'node:path';
import { MaestroError, errorMessage, isMaestroError, type Logger } from '../common/index.js';
import { hookRequestSchema, OBJECT_ENV_NAMES, sayLines, verdictLine } from './hook-protocol.js';
import type { GitObjects, IntentOutcome } from './intents.js';
import type { PushReceiver } from './push.js';
import type { PushSession } from './push-sessions.js';
import { parseRefUpdates, type RefUpdate } from './ref-updates.js';

/** What the hook forwarded, checked. */
export interface HookPush {
  updates: RefUpdate[];
  pushOptions: string[];
  objects: GitObjects;
}

/** Checks the hook's request; a MaestroError (400) when it is not what the hook sends. */
export function readHookRequest(session: PushSession, body: unknown): HookPush {
  const parsed = hookRequestSchema.safeParse(body);
  if (!parsed.success) {
    throw new MaestroError('validation_error', `the hook's request is not valid: ${parsed.error.issues.map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`).join('; ')}`);
  }
  const env: Record<string, string> = {};
  for (const name of OBJECT_ENV_NAMES) {
    const value = parsed.data.objects[name];
    if (value === undefined || value === '') continue;
    // The quarantine is inside the repository; a path elsewhere would make git read another repository's objects.
    const outside = value.split(':').filter((path) => path !== '' && !inside(session.repository, path));
    if (outside.length > 0) throw new MaestroError('validation_error', `${name} must point inside the repository ${session.repository}, got ${JSON.stringify(outside[0])}`);
    env[name] = value;
  }
  return { updates: parseRefUpdates(parsed.data.updates), pushOptions: parsed.data.pushOptions, objects: { repository: session.repository, env } };
}

function inside(root: string, path: string): boolean {
  if (!isAbsolute(path)) return false;
  const rel = relative(resolve(root), resolve(path));
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/** Streams the receiver's answer into `response` (already given to us: status, then lines). */
export async function answerHook(input: {
  session: PushSession;
  request: HookPush;
  receiver: PushReceiver;
  response: ServerResponse;
  logger: Logger;
}): Promise<void> {
  const { session, request, response, logger } = input;
  const write = (text: string): void => {
    if (!response.writableEnded && !response.destroyed) response.write(text);
  };
  response.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
  response.flushHeaders();
  response.on('close', () => {
    // The hook (so receive-pack, so the pusher) went away before the verdict: the push is cut off.
    if (!session.answered) session.controller.abort(new MaestroError('unavailable', 'the push was cut off before Maestro answered'));
  });

  let outcome: IntentOutcome;
  try {
    outcome = await input.receiver.receive(
      { project: session.project, updates: request.updates, objects: request.objects, pushOptions: request.pushOptions, actor: session.actor, permits: session.permits },
      (line) => write(sayLines(line)),
      session.controller.signal,
    );
  } catch (error) {
    if (!isMaestroError(error)) logger.error({ err: errorMessage(error), project: session.project }, 'the push receiver failed');
    outcome = { ok: false, message: `maestro: ${isMaestroError(error) ? error.message : 'the push could not be handled; see the server log'}`, urls: [], deploymentIds: [] };
  }
  session.answered = true;
  if (outcome.message) write(sayLines(outcome.message));
  for (const url of outcome.urls) write(sayLines(url));
  write(verdictLine(outcome.ok));
  response.end();
  logger.info({ project: session.project, actor: session.actor, ok: outcome.ok, deployments: outcome.deploymentIds }, outcome.ok ? 'push accepted' : 'push refused');
}
