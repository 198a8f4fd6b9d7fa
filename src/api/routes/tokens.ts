import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { MaestroError } from '../../common/index.js';
import { ROLES, generateToken, hashToken, missingForRole, principalAllows, type Target } from '../../identity/index.js';
import { PERSONAL_TOKEN_ROLE } from '../../store/index.js';
import { durationWithin } from '../../previews/index.js';
import type { Store, Token } from '../../store/index.js';
import type { Actor } from '../auth.js';
import type { ApiContext } from '../context.js';

const DAY_MS = 86_400_000;
export const TOKEN_NAME = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._@:+-]{0,99}$/, 'must be 1-100 letters, digits and . _ @ : + -, starting with a letter or digit');

export const TokenView = z.object({
  name: z.string(),
  role: z.string(),
  scope: z.enum(['organisation', 'project']),
  project: z.string().nullable(),
  owner: z.string().nullable().describe('The person it belongs to: it never does more than they may, and goes with them'),
  createdBy: z.string().nullable(),
  createdAt: z.string(),
  lastUsedAt: z.string().nullable(),
  expiresAt: z.string().nullable(),
});

export function tokenView(token: Token): z.infer<typeof TokenView> {
  return {
    name: token.name,
    role: token.role,
    scope: token.projectId ? 'project' : 'organisation',
    project: token.projectName ?? null,
    owner: token.userEmail ?? null,
    createdBy: token.createdBy ?? null,
    createdAt: token.createdAt.toISOString(),
    lastUsedAt: token.lastUsedAt?.toISOString() ?? null,
    expiresAt: token.expiresAt?.toISOString() ?? null,
  };
}

/** Managing the organisation's tokens, not just one's own, takes org:manage across it. */
const managesAll = (actor: Actor): boolean => principalAllows(actor, 'org:manage', { organisationId: actor.organisationId });

async function projectTarget(store: Store, actor: Actor, project: string | undefined): Promise<Target & { projectId?: string }> {
  if (project === undefined) return { organisationId: actor.organisationId };
  const scope = await store.projects.scope(project);
  if (!scope || scope.organisationId !== actor.organisationId) throw new MaestroError('not_found', `no project "${project}"; a token can only be scoped to a project that exists`, { project });
  return { organisationId: scope.organisationId, projectId: scope.id, projectName: project };
}

/** API tokens for people and CI: made with at most the maker's permissions, listed without secrets, revoked by name. */
export function tokenRoutes(context: ApiContext): FastifyPluginAsyncZod {
  const { store } = context;
  return async (app) => {
    app.post(
      '/v1/tokens',
      {
        config: { permission: 'project:view' },
        schema: {
          summary: 'Make an API token; its secret is in this answer only',
          description:
            'Scoped to the organisation, or to one project (`project`), with a role and an optional expiry (`expires`, like 30d). Nobody may make a token with a permission they do not hold there. ' +
            "A token made by a person is theirs: it never does more than they may, and is revoked with them.",
          tags: ['identity'],
          body: z.object({
            name: TOKEN_NAME,
            role: z.enum([...ROLES, PERSONAL_TOKEN_ROLE]).describe('personal: acts as you, with your roles wherever you hold them (for your own CLI)'),
            project: z.string().optional(),
            expires: z.string().optional().describe('A duration like 30d, at most 365d'),
          }),
          response: { 201: z.object({ token: TokenView, secret: z.string() }) },
        },
      },
      async (request, reply) => {
        const actor = request.actor!;
        const { name, role, project, expires } = request.body;
        if (role === PERSONAL_TOKEN_ROLE && (!actor.user || project !== undefined)) {
          throw new MaestroError('validation_error', actor.user ? 'a personal token acts wherever you hold a role: leave out the project' : 'only a person can make a personal token (it acts as them): give the token a role instead', { field: 'role' });
        }
        const target = await projectTarget(store, actor, project);
        // A personal token never holds more than its person: it is their roles.
        const missing = role === PERSONAL_TOKEN_ROLE ? undefined : missingForRole(actor, role, target);
        if (missing) {
          const where = project ? `on project ${project}` : 'across the organisation';
          throw new MaestroError(
            'permission_denied',
            `a token with role ${role} ${where} would hold ${missing.join(', ')}, which ${actor.kind === 'token' ? `token "${actor.name}"` : actor.name} does not hold there: pick a lower role or a project you hold more on`,
            { missing },
          );
        }
        const expiresAt = expires === undefined ? undefined : new Date(Date.now() + durationWithin('expires', expires, 60_000, 365 * DAY_MS));
        const secret = generateToken();
        const token = await store.tokens.create({
          name,
          hash: hashToken(secret),
          role,
          organisationId: actor.organisationId,
          ...(target.projectId ? { projectId: target.projectId } : {}),
          ...(actor.user ? { userId: actor.user.id } : {}),
          createdBy: actor.name,
          ...(expiresAt ? { expiresAt } : {}),
        });
        return reply.status(201).send({ token: tokenView(token), secret });
      },
    );

    app.get(
      '/v1/tokens',
      {
        config: { permission: { permission: 'project:view', anyProject: true } },
        schema: {
          summary: "Tokens, never their secrets: the organisation's (with org:manage), else your own",
          tags: ['identity'],
          response: { 200: z.object({ tokens: z.array(TokenView) }) },
        },
      },
      async (request) => {
        const actor = request.actor!;
        let tokens: Token[];
        if (managesAll(actor)) tokens = await store.tokens.list({ organisationId: actor.organisationId });
        else if (actor.user) tokens = await store.tokens.list({ organisationId: actor.organisationId, userId: actor.user.id });
        else tokens = (await store.tokens.list({ organisationId: actor.organisationId })).filter((token) => token.id === actor.tokenId);
        return { tokens: tokens.map(tokenView) };
      },
    );

    app.delete(
      '/v1/tokens/:name',
      {
        config: { permission: { permission: 'project:view', anyProject: true } },
        schema: {
          summary: 'Revoke a token: requests with it are refused at once',
          description: 'Your own tokens (and the one you call with); anyone\'s with org:manage.',
          tags: ['identity'],
          params: z.object({ name: z.string() }),
          response: { 200: z.object({ revoked: z.string() }) },
        },
      },
      async (request) => {
        const actor = request.actor!;
        const token = await store.tokens.findByName(request.params.name, actor.organisationId);
        if (!token) throw new MaestroError('not_found', `no token named "${request.params.name}"; list them with \`maestro tokens ls\``, { name: request.params.name });
        const own = token.id === actor.tokenId || (actor.user !== undefined && token.userId === actor.user.id);
        if (!own && !managesAll(actor)) {
          throw new MaestroError('permission_denied', `org:manage is needed to revoke token "${token.name}", which is not yours; ${actor.kind === 'token' ? `token "${actor.name}"` : actor.name} has role ${actor.role}`);
        }
        await store.tokens.revoke(token.name, actor.organisationId);
        return { revoked: token.name };
      },
    );
  };
}
