/** The API with just the git-host routes, on a real socket, over a real store: auth, errors and all as buildApi sets them up. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { request } from 'undici';
import { registerAuth } from '../../src/api/auth.js';
import { registerErrorHandling } from '../../src/api/errors.js';
import { gitHostRoutes } from '../../src/api/routes/git-hosts.js';
import { silentLogger } from '../../src/common/index.js';
import { signWebhookBody } from '../../src/events/index.js';
import type { GitIntent, GitObjects, HookIntake, IntentOrigin, IntentOutcome } from '../../src/git-hosts/index.js';
import { generateToken, hashToken } from '../../src/identity/index.js';
import { openStore, type Store } from '../../src/store/index.js';

export interface IntakeCall {
  project: string;
  intents: GitIntent[];
  objects: GitObjects;
  origin: IntentOrigin;
}

/** Records what it is handed and answers as told. */
export class RecordingIntake implements HookIntake {
  readonly calls: IntakeCall[] = [];
  answer: (call: IntakeCall) => IntentOutcome = () => ({ ok: true, message: 'deploying', urls: ['http://web.production.shop.localhost:8080/'], deploymentIds: ['dep_1'] });
  /** Runs inside handle, while the delivery waits on it (to look at the repository then). */
  onCall: (call: IntakeCall) => Promise<void> = async () => {};

  async handle(project: string, intents: GitIntent[], objects: GitObjects, origin: IntentOrigin): Promise<IntentOutcome> {
    const call = { project, intents, objects, origin };
    this.calls.push(call);
    await this.onCall(call);
    return this.answer(call);
  }
}

export interface HookApi {
  url: string;
  store: Store;
  token: string;
  dataDir: string;
  intake: RecordingIntake;
  /** Set to undefined to see a Maestro without an intake. */
  intakeWired: boolean;
  api<T = Record<string, unknown>>(method: string, path: string, body?: unknown, token?: string): Promise<{ status: number; body: T }>;
  /** POSTs a GitHub delivery, signed with `secret` unless `signature` says otherwise. */
  github(event: string, payload: unknown, options: { secret: string; delivery?: string; signature?: string | null }): Promise<{ status: number; body: Record<string, unknown> }>;
  gitlab(event: string, payload: unknown, options: { token: string | null; delivery?: string; idempotencyKey?: string }): Promise<{ status: number; body: Record<string, unknown> }>;
  close(): Promise<void>;
}

export async function startHookApi(): Promise<HookApi> {
  const dataDir = await mkdtemp(join(tmpdir(), 'maestro-hooks-'));
  const store = await openStore({ dataDir });
  const token = generateToken();
  await store.tokens.create({ name: 'admin', hash: hashToken(token), role: 'owner' });
  const intake = new RecordingIntake();
  const state = { wired: true };
  const app = Fastify({ logger: false, bodyLimit: 1024 * 1024, forceCloseConnections: true }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  registerErrorHandling(app, silentLogger());
  await registerAuth(app, { store });
  await app.register(
    gitHostRoutes({
      store,
      logger: silentLogger(),
      dataDir,
      intake: () => (state.wired ? intake : undefined),
      fetch: { timeoutMs: 20_000, protocols: ['file'] },
    }),
  );
  const url = await app.listen({ port: 0, host: '127.0.0.1' });

  async function send(path: string, body: string | Buffer, headers: Record<string, string>) {
    const response = await request(`${url}${path}`, { method: 'POST', body, headers });
    return { status: response.statusCode, body: (await response.body.json()) as Record<string, unknown> };
  }

  return {
    url,
    store,
    token,
    dataDir,
    intake,
    get intakeWired() {
      return state.wired;
    },
    set intakeWired(value: boolean) {
      state.wired = value;
    },
    async api<T>(method: string, path: string, body?: unknown, bearer: string = token) {
      const response = await request(`${url}${path}`, {
        method: method as 'GET',
        headers: { ...(bearer ? { authorization: `Bearer ${bearer}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: response.statusCode, body: (await response.body.json()) as T };
    },
    github(event, payload, options) {
      const body = typeof payload === 'string' ? payload : JSON.stringify(payload);
      const signature = options.signature === undefined ? signWebhookBody(options.secret, body) : options.signature;
      return send('/v1/hooks/github', body, {
        'content-type': 'application/json',
        'user-agent': 'GitHub-Hookshot/test',
        'x-github-event': event,
        ...(options.delivery ? { 'x-github-delivery': options.delivery } : {}),
        ...(signature === null ? {} : { 'x-hub-signature-256': signature }),
      });
    },
    gitlab(event, payload, options) {
      return send('/v1/hooks/gitlab', JSON.stringify(payload), {
        'content-type': 'application/json',
        'x-gitlab-event': event,
        ...(options.token === null ? {} : { 'x-gitlab-token': options.token }),
        ...(options.delivery ? { 'x-gitlab-event-uuid': options.delivery } : {}),
        ...(options.idempotencyKey ? { 'idempotency-key': options.idempotencyKey } : {}),
      });
    },
    async close() {
      await app.close();
      await store.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
