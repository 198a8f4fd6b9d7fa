/**
 * A real Maestro (store, control plane, router) with a second API built on its control plane, reached
 * through Fastify's inject: every route as registered, without sockets, and tokens of every role.
 */
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { buildApi, type RateLimits } from '../../src/api/index.js';
import type { DeclaredRoute } from '../../src/api/auth.js';
import { silentLogger } from '../../src/common/index.js';
import { ROLES, generateToken, hashToken, type Role } from '../../src/identity/index.js';
import type { UpOptions } from '../../src/server/index.js';
import { startTestMaestro, stopTestMaestro, type TestMaestro } from '../e2e/harness.js';

export const ALL_ROLES = [...ROLES, 'cache-reader'] as const;
export type AnyRole = Role | 'cache-reader';

export interface ApiHarness {
  maestro: TestMaestro;
  app: FastifyInstance;
  routes: DeclaredRoute[];
  /** An organisation-wide token of each role. */
  tokens: Record<AnyRole, string>;
  /** Makes a token; scoped to a project when one is named. */
  token(name: string, role: AnyRole, options?: { project?: string; expiresAt?: Date }): Promise<string>;
  inject(options: InjectOptions & { token?: string }): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

export async function startApiHarness(overrides: Partial<UpOptions> = {}, options: { rateLimits?: RateLimits } = {}): Promise<ApiHarness> {
  const maestro = await startTestMaestro(overrides);
  const app = await buildApi({
    plane: maestro.plane,
    store: maestro.store,
    logger: silentLogger(),
    maxUploadBytes: 10 * 1024 * 1024,
    version: 'test',
    pushReceiver: maestro.plane.intake,
    policies: maestro.policies,
    // These suites are about who may do what; the limits have their own test.
    rateLimits: options.rateLimits ?? { perTokenPerMinute: 1_000_000, perAddressPerMinute: 1_000_000 },
  });
  await app.ready();
  const token = async (name: string, role: AnyRole, options: { project?: string; expiresAt?: Date } = {}): Promise<string> => {
    const secret = generateToken();
    const projectId = options.project ? (await maestro.store.projects.ensure(options.project)).id : undefined;
    await maestro.store.tokens.create({ name, hash: hashToken(secret), role, ...(projectId ? { projectId } : {}), ...(options.expiresAt ? { expiresAt: options.expiresAt } : {}) });
    return secret;
  };
  const tokens = {} as Record<AnyRole, string>;
  for (const role of ALL_ROLES) tokens[role] = await token(`every-${role}`, role);
  return {
    maestro,
    app,
    routes: app.declaredRoutes,
    tokens,
    token,
    inject: ({ token: secret, headers, ...options }) =>
      app.inject({ ...options, headers: { ...(secret ? { authorization: `Bearer ${secret}` } : {}), ...(headers ?? {}) } }),
    async close() {
      await app.close();
      await stopTestMaestro(maestro);
    },
  };
}

/** The error's message from a JSON error body, or the text itself (the Nx and git routes answer in plain text). */
export function errorText(body: string): string {
  try {
    const parsed = JSON.parse(body) as { error?: { message?: string } };
    return parsed.error?.message ?? body;
  } catch {
    return body;
  }
}
