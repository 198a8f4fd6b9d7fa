import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { MaestroError } from '../../common/index.js';
import { MAX_PASSWORD_LENGTH, ROLES, checkNewPassword, hashPassword, type Role } from '../../identity/index.js';
import type { Membership, Store, User } from '../../store/index.js';
import type { ApiContext } from '../context.js';

const MembershipView = z.object({ role: z.enum(ROLES), scope: z.enum(['organisation', 'project']), project: z.string().nullable() });

const UserView = z.object({
  id: z.string(),
  email: z.string(),
  name: z.string(),
  hasPassword: z.boolean().describe('False for people who only sign in through SSO'),
  disabled: z.boolean(),
  createdAt: z.string(),
  memberships: z.array(MembershipView),
});

const membershipView = (membership: Membership): z.infer<typeof MembershipView> => ({
  role: membership.role,
  scope: membership.projectId ? 'project' : 'organisation',
  project: membership.projectName ?? null,
});

async function userView(store: Store, user: User, organisationId: string): Promise<z.infer<typeof UserView>> {
  const memberships = (await store.memberships.forUser(user.id)).filter((membership) => membership.organisationId === organisationId);
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    hasPassword: user.hasPassword,
    disabled: user.disabledAt !== undefined,
    createdAt: user.createdAt.toISOString(),
    memberships: memberships.map(membershipView),
  };
}

async function requireUser(store: Store, email: string): Promise<User> {
  const user = await store.users.findByEmail(email);
  if (!user) throw new MaestroError('not_found', `no user ${email}; list them with \`maestro users ls\``, { email });
  return user;
}

async function projectIdOf(store: Store, organisationId: string, project: string | undefined): Promise<string | undefined> {
  if (project === undefined) return undefined;
  const scope = await store.projects.scope(project);
  if (!scope || scope.organisationId !== organisationId) throw new MaestroError('not_found', `no project "${project}"`, { project });
  return scope.id;
}

/** An organisation must keep an owner who can sign in: the last one may be neither removed nor demoted. */
async function keepAnOwner(store: Store, user: User, organisationId: string, change: string): Promise<void> {
  const owner = (await store.memberships.forUser(user.id)).some((m) => m.organisationId === organisationId && !m.projectId && m.role === 'owner');
  if (owner && !user.disabledAt && (await store.memberships.activeOwners(organisationId)) <= 1) {
    throw new MaestroError('conflict', `${user.email} is the organisation's last owner: ${change} would leave nobody to manage it; make someone else owner first (maestro users set-role EMAIL --role owner)`);
  }
}

const RoleBody = z.object({
  role: z.enum([...ROLES, 'none']).describe('none removes the role in that scope'),
  project: z.string().optional().describe('The role holds on this project only'),
});

/** People of the organisation and their roles; all of it takes org:manage. */
export function userRoutes(context: ApiContext): FastifyPluginAsyncZod {
  const { store } = context;
  return async (app) => {
    app.post(
      '/v1/users',
      {
        // The project in the body is where the new role holds, not what this request is about.
        config: { permission: { permission: 'org:manage', project: () => undefined } },
        schema: {
          summary: 'Add a person with a role in the organisation or on one project (or give an existing one that role)',
          description: 'Without `password` the person signs in through SSO only (or gets a password later).',
          tags: ['identity'],
          body: z.object({
            email: z.string().min(1).max(254),
            name: z.string().max(200).optional(),
            role: z.enum(ROLES),
            project: z.string().optional(),
            password: z.string().max(MAX_PASSWORD_LENGTH).optional(),
          }),
          response: { 201: z.object({ user: UserView, created: z.boolean() }) },
        },
      },
      async (request, reply) => {
        const { email, name, role, project, password } = request.body;
        const actor = request.actor!;
        const projectId = await projectIdOf(store, actor.organisationId, project);
        if (password !== undefined) checkNewPassword(password);
        const existing = await store.users.findByEmail(email);
        if (existing && password !== undefined) {
          throw new MaestroError('conflict', `${existing.email} already has an account; leave out the password to give them a role`, { email });
        }
        const user =
          existing ?? (await store.users.create({ email, ...(name ? { name } : {}), ...(password !== undefined ? { passwordHash: await hashPassword(password) } : {}) }));
        await store.memberships.set({ userId: user.id, organisationId: actor.organisationId, role, ...(projectId ? { projectId } : {}) });
        return reply.status(201).send({ user: await userView(store, user, actor.organisationId), created: !existing });
      },
    );

    app.get(
      '/v1/users',
      {
        config: { permission: 'org:manage' },
        schema: { summary: 'People of the organisation with their roles', tags: ['identity'], response: { 200: z.object({ users: z.array(UserView) }) } },
      },
      async (request) => {
        const { organisationId } = request.actor!;
        const members = new Set((await store.memberships.list(organisationId)).map((membership) => membership.userId));
        const users = (await store.users.list()).filter((user) => members.has(user.id));
        return { users: await Promise.all(users.map((user) => userView(store, user, organisationId))) };
      },
    );

    app.put(
      '/v1/users/:email/role',
      {
        config: { permission: { permission: 'org:manage', project: () => undefined } },
        schema: {
          summary: "Set a person's role in the organisation or on one project (none removes it)",
          tags: ['identity'],
          params: z.object({ email: z.string() }),
          body: RoleBody,
          response: { 200: z.object({ user: UserView }) },
        },
      },
      async (request) => {
        const { organisationId } = request.actor!;
        const user = await requireUser(store, request.params.email);
        const { role, project } = request.body;
        const projectId = await projectIdOf(store, organisationId, project);
        if (!projectId && role !== 'owner') await keepAnOwner(store, user, organisationId, `making them ${role}`);
        if (role === 'none') {
          if (!(await store.memberships.remove({ userId: user.id, organisationId, ...(projectId ? { projectId } : {}) }))) {
            throw new MaestroError('not_found', `${user.email} has no role ${project ? `on project ${project}` : 'across the organisation'}`);
          }
        } else {
          await store.memberships.set({ userId: user.id, organisationId, role: role as Role, ...(projectId ? { projectId } : {}) });
        }
        return { user: await userView(store, user, organisationId) };
      },
    );

    app.delete(
      '/v1/users/:email',
      {
        config: { permission: 'org:manage' },
        schema: {
          summary: 'Remove a person: their memberships, sessions and tokens go with them',
          tags: ['identity'],
          params: z.object({ email: z.string() }),
          response: { 200: z.object({ removed: z.string() }) },
        },
      },
      async (request) => {
        const user = await requireUser(store, request.params.email);
        await keepAnOwner(store, user, request.actor!.organisationId, 'removing them');
        await store.users.remove(user.id);
        return { removed: user.email };
      },
    );
  };
}
