import cookie from '@fastify/cookie';
import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
import { MaestroError } from '../common/index.js';
import {
  CSRF_HEADER,
  SESSION_COOKIE,
  authenticateSession,
  authenticateToken,
  bearerToken,
  csrfMatches,
  decideAccess,
  isPermission,
  isSafeMethod,
  primaryRole,
  type Permission,
  type Principal,
  type Target,
} from '../identity/index.js';
import type { Store } from '../store/index.js';
import { bodyOf, paramOf } from './access-lookups.js';

/**
 * A route's permission: fixed, or decided from the request (a deploy's environment), with the project
 * the request is about (from its params or body) so project-scoped tokens and memberships apply.
 * `anyProject`: a role on any project of the organisation will do (uploads that belong to no project
 * yet). `{ signedIn: true }`: any authenticated caller (who am I).
 */
export type RoutePermission =
  | Permission
  | {
      permission: Permission | ((request: FastifyRequest) => Permission | Promise<Permission>);
      project?: (request: FastifyRequest) => string | undefined | Promise<string | undefined>;
      anyProject?: boolean;
    }
  | { signedIn: true };

/** Who is asking: the principal, and the role a listing shows for it. */
export type Actor = Principal & { role: string };

/** Why, for sensitive operations: the body's `reason`, else this header (`maestro ... --reason`). */
export const REASON_HEADER = 'x-maestro-reason';
export const MAX_REASON_LENGTH = 500;

/** A route as registered, with what it declared: the table the access tests walk. */
export interface DeclaredRoute {
  method: string;
  url: string;
  config: { public?: boolean; permission?: RoutePermission; reason?: unknown };
  schema?: unknown;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route registered after the guard, with its declared access: what the access tests walk. */
    declaredRoutes: DeclaredRoute[];
  }
  interface FastifyRequest {
    actor?: Actor;
    /** Why the caller says they do this (body `reason` or x-maestro-reason), recorded with the action. */
    reason?: string;
    /** What the guard checked: the permission, and the project it was checked on. */
    access?: { permission: Permission; project?: string };
  }
  interface FastifyContextConfig {
    /** Routes reachable without credentials (health, login, and routes that check a secret of their own). */
    public?: boolean;
    /** What the caller must hold for this route (see identity/permissions.ts); every non-public route declares one. */
    permission?: RoutePermission;
    /** The caller must give a reason: always, or when this says so (a person's production deploy). */
    reason?: boolean | ((request: FastifyRequest) => boolean | Promise<boolean>);
  }
}

export interface AuthOptions {
  store: Store;
  /** Runs between authentication and the 401: the rate limiter, keyed by who the caller turned out to be. */
  beforeRefusal?: (app: FastifyInstance) => Promise<void>;
}

/** A route added without a permission fails when it is added: at start, and in every test that builds the API. */
export function checkRouteDeclaresAccess(route: Pick<RouteOptions, 'method' | 'url' | 'config'>): void {
  const config = route.config as { public?: boolean; permission?: RoutePermission } | undefined;
  if (config?.public) return;
  const declared = config?.permission;
  const where = `${[route.method].flat().join(',')} ${route.url}`;
  if (!declared) {
    throw new MaestroError(
      'internal',
      `${where} declares no permission: add config: { permission: ... } (see src/identity/permissions.ts), or config: { public: true } for a route that checks credentials of its own`,
    );
  }
  const named = typeof declared === 'string' ? declared : 'permission' in declared && typeof declared.permission === 'string' ? declared.permission : undefined;
  if (named !== undefined && !isPermission(named)) throw new MaestroError('internal', `${where} declares the unknown permission "${named}"`);
}

const failures = new WeakMap<FastifyRequest, MaestroError>();

function headerOf(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return typeof value === 'string' ? value : undefined;
}

async function authenticate(store: Store, request: FastifyRequest): Promise<Actor> {
  const token = bearerToken(request.headers.authorization);
  if (token) return withRole(await authenticateToken(store, token));
  const secret = request.cookies?.[SESSION_COOKIE];
  if (!secret) {
    throw new MaestroError('unauthorized', 'missing API token: send `Authorization: Bearer <token>` (set MAESTRO_TOKEN or run `maestro login`), or log in to the console');
  }
  const { principal, csrfHash } = await authenticateSession(store, secret);
  // A cookie comes with every request the browser makes, whoever's page asked: changes need proof it was the console.
  if (!isSafeMethod(request.method) && !csrfMatches(headerOf(request, CSRF_HEADER), csrfHash)) {
    throw new MaestroError('permission_denied', `the ${CSRF_HEADER} header is missing or is not this session's: send the csrfToken the login answered with`);
  }
  return withRole(principal);
}

export function withRole(principal: Principal): Actor {
  return { ...principal, role: primaryRole(principal.grants) };
}

/** The reason the caller gave, trimmed; `validation_error` when it is too long to record. */
export function reasonOf(request: FastifyRequest): string | undefined {
  const given = bodyOf(request, 'reason') ?? headerOf(request, REASON_HEADER);
  const reason = given?.trim();
  if (!reason) return undefined;
  if (reason.length > MAX_REASON_LENGTH) throw new MaestroError('validation_error', `the reason is ${reason.length} characters long; keep it to ${MAX_REASON_LENGTH}`, { field: 'reason' });
  return reason;
}

/**
 * Deny by default. Every route declares a permission or is public (`onRoute`); each request is
 * authenticated (a bearer token, or a session cookie with its CSRF token for changes) before its body
 * is read, then checked against the matrix on the project it is about, before it is validated.
 */
export async function registerAuth(app: FastifyInstance, options: AuthOptions): Promise<void> {
  const { store } = options;
  await app.register(cookie);
  const declared: DeclaredRoute[] = [];
  app.decorate('declaredRoutes', declared);
  app.addHook('onRoute', (route) => {
    checkRouteDeclaresAccess(route);
    for (const method of [route.method].flat()) declared.push({ method, url: route.url, config: (route.config ?? {}) as DeclaredRoute['config'], schema: route.schema });
  });

  // Authentication only records its outcome here, so the rate limiter can key by who is asking (and
  // count failed attempts against their address) before the 401 goes out.
  app.addHook('onRequest', async (request) => {
    if (request.routeOptions.config?.public) return;
    try {
      request.actor = await authenticate(store, request);
    } catch (error) {
      if (!(error instanceof MaestroError)) throw error;
      failures.set(request, error);
    }
  });
  await options.beforeRefusal?.(app);
  app.addHook('preParsing', async (request) => {
    const failure = failures.get(request);
    if (failure) throw failure;
  });

  app.addHook('preValidation', async (request) => {
    const config = request.routeOptions.config;
    if (config?.public || request.is404) return;
    const actor = request.actor;
    const declared = config?.permission;
    if (!actor || !declared) throw new MaestroError('unauthorized', 'missing credentials');
    if (typeof declared === 'object' && 'signedIn' in declared) {
      request.reason = reasonOf(request);
      return;
    }

    const permission = typeof declared === 'string' ? declared : typeof declared.permission === 'string' ? declared.permission : await declared.permission(request);
    const rule: { project?: (request: FastifyRequest) => string | undefined | Promise<string | undefined>; anyProject?: boolean } =
      typeof declared === 'string' ? {} : declared;
    const project = rule.anyProject ? undefined : rule.project ? await rule.project(request) : (paramOf(request, 'project') ?? bodyOf(request, 'project'));
    const target = await targetOf(store, actor, project, rule.anyProject === true);
    const decision = decideAccess(actor, permission, target);
    if (!decision.allowed) throw new MaestroError('permission_denied', decision.message, { permission, ...(project ? { project } : {}) });
    request.access = { permission, ...(project ? { project } : {}) };
    request.reason = reasonOf(request);

    const wanted = typeof config.reason === 'function' ? await config.reason(request) : config.reason === true;
    if (wanted && !request.reason) {
      throw new MaestroError('validation_error', `${permission}${project ? ` on project ${project}` : ''} needs a reason: pass --reason "why" (the API takes \`reason\` in the body or the ${REASON_HEADER} header)`, { field: 'reason' });
    }
  });
}

async function targetOf(store: Store, actor: Actor, project: string | undefined, anyProject: boolean): Promise<Target> {
  if (anyProject) return { organisationId: actor.organisationId, anyProject: true };
  if (project === undefined || project === '') return { organisationId: actor.organisationId };
  // A project that does not exist (yet) is reached by organisation-wide roles only.
  const scope = await store.projects.scope(project);
  return scope ? { organisationId: scope.organisationId, projectId: scope.id, projectName: project } : { organisationId: actor.organisationId, projectName: project };
}

/** Whether the caller is a person (signed in, or using a token they made), not a machine's token. */
export function isPerson(actor: Actor | undefined): boolean {
  return actor !== undefined && (actor.kind === 'session' || actor.user !== undefined);
}
