import type { FastifyInstance, FastifyRequest } from 'fastify';
import { MaestroError } from '../common/index.js';
import { bearerToken, hashToken } from '../identity/index.js';
import type { Store } from '../store/index.js';
import type { Permission } from '../identity/permissions.js';

/**
 * A route's permission: fixed, or decided from the request (a deploy's environment), with the project
 * the request is about (from its params or body) so project-scoped tokens and memberships apply.
 */
export type RoutePermission =
  | Permission
  | { permission: Permission | ((request: FastifyRequest) => Permission | Promise<Permission>); project?: (request: FastifyRequest) => string | undefined };

export interface Actor {
  tokenId: string;
  name: string;
  role: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    actor?: Actor;
  }
  interface FastifyContextConfig {
    /** Routes reachable without a token (only /healthz). */
    public?: boolean;
    /** What the caller must hold for this route (see identity/permissions.ts); every non-public route declares one. */
    permission?: RoutePermission;
  }
}

/** Bearer tokens everywhere but routes marked public; tokens are looked up by hash. */
export function registerAuth(app: FastifyInstance, store: Store): void {
  app.addHook('onRequest', async (request: FastifyRequest) => {
    if (request.routeOptions.config?.public) return;
    const token = bearerToken(request.headers.authorization);
    if (!token) {
      throw new MaestroError('unauthorized', 'missing API token: send `Authorization: Bearer <token>` (set MAESTRO_TOKEN or run `maestro login`)');
    }
    const record = await store.tokens.findByHash(hashToken(token));
    if (!record || (record.expiresAt && record.expiresAt.getTime() < Date.now())) {
      throw new MaestroError('unauthorized', 'the API token is not valid (unknown, revoked or expired)');
    }
    request.actor = { tokenId: record.id, name: record.name, role: record.role };
  });
}
