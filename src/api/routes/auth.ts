import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { PERMISSIONS, SESSION_COOKIE, effectivePermissions, hashToken, logIn, MAX_PASSWORD_LENGTH } from '../../identity/index.js';
import type { ApiContext } from '../context.js';
import { clearSessionCookie, setSessionCookie } from '../session-cookie.js';

const Permission = z.enum(PERMISSIONS);

const GrantView = z.object({
  role: z.string(),
  scope: z.enum(['organisation', 'project']),
  project: z.string().nullable(),
});

const MeView = z.object({
  kind: z.enum(['token', 'session']).describe('How the request authenticated'),
  name: z.string().describe("The token's name, or the person's email"),
  role: z.string().describe('The organisation-wide role, else the first project role'),
  user: z.object({ id: z.string(), email: z.string(), name: z.string() }).nullable(),
  organisation: z.object({ id: z.string(), name: z.string() }),
  grants: z.array(GrantView).describe("What the credential holds: a token's role, or a person's memberships"),
  ceiling: z.array(GrantView).nullable().describe("For a person's token: the person's memberships, which it never exceeds"),
  permissions: z.object({
    organisation: z.array(Permission).describe('Held across the organisation (and so on every project)'),
    projects: z.record(z.string(), z.array(Permission)).describe('Held on each project a grant names'),
  }),
});

const grantView = (grant: { role: string; projectId?: string; projectName?: string }): z.infer<typeof GrantView> => ({
  role: grant.role,
  scope: grant.projectId === undefined ? 'organisation' : 'project',
  project: grant.projectId === undefined ? null : (grant.projectName ?? grant.projectId),
});

/** Console sign-in (a session cookie and its CSRF token), sign-out, and who the caller is. */
export function authRoutes(context: ApiContext): FastifyPluginAsyncZod {
  const { store } = context;
  return async (app) => {
    app.post(
      '/v1/auth/login',
      {
        config: { public: true },
        schema: {
          summary: 'Log in to the console with an email and password',
          description:
            'Sets an HTTP-only session cookie (SameSite=Lax; Secure over https) and answers the CSRF token: send it as `x-csrf-token` with every request that changes something. ' +
            'Failed logins are recorded and slowed, per account and per address (429 with Retry-After).',
          tags: ['identity'],
          security: [],
          body: z.object({ email: z.string().min(1).max(254), password: z.string().min(1).max(MAX_PASSWORD_LENGTH) }),
          response: { 200: z.object({ user: z.object({ id: z.string(), email: z.string(), name: z.string() }), csrfToken: z.string(), expiresAt: z.string() }) },
        },
      },
      async (request, reply) => {
        const done = await logIn(store, {
          email: request.body.email,
          password: request.body.password,
          address: request.ip,
          ...(request.headers['user-agent'] ? { userAgent: request.headers['user-agent'] } : {}),
        });
        setSessionCookie(request, reply, done.secret, done.session.expiresAt);
        return { user: { id: done.user.id, email: done.user.email, name: done.user.name }, csrfToken: done.csrfToken, expiresAt: done.session.expiresAt.toISOString() };
      },
    );

    app.post(
      '/v1/auth/logout',
      {
        // Ending a session needs nothing but its cookie; without one there is nothing to end.
        config: { public: true },
        schema: { summary: 'Log out: the session ends and its cookie is cleared', tags: ['identity'], security: [], response: { 200: z.object({ loggedOut: z.boolean() }) } },
      },
      async (request, reply) => {
        const secret = request.cookies[SESSION_COOKIE];
        const found = secret ? await store.sessions.findByHash(hashToken(secret)) : undefined;
        const loggedOut = found ? await store.sessions.revoke(found.session.id) : false;
        clearSessionCookie(request, reply);
        return { loggedOut };
      },
    );

    app.get(
      '/v1/me',
      {
        config: { permission: { signedIn: true } },
        schema: { summary: 'Who the caller is: their identity, memberships and effective permissions', tags: ['identity'], response: { 200: MeView } },
      },
      async (request) => {
        const actor = request.actor!;
        const organisation = await store.organisations.get(actor.organisationId);
        return {
          kind: actor.kind,
          name: actor.name,
          role: actor.role,
          user: actor.user ?? null,
          organisation: { id: actor.organisationId, name: organisation?.name ?? actor.organisationId },
          grants: actor.grants.map(grantView),
          ceiling: actor.ceiling ? actor.ceiling.map(grantView) : null,
          permissions: effectivePermissions(actor),
        };
      },
    );

    app.get(
      '/v1/whoami',
      {
        config: { permission: { signedIn: true } },
        schema: { summary: 'The identity behind the token', tags: ['identity'], response: { 200: z.object({ name: z.string(), role: z.string() }) } },
      },
      async (request) => ({ name: request.actor!.name, role: request.actor!.role }),
    );
  };
}
