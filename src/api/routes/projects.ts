import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { MaestroError } from '../../common/index.js';
import { principalAllows } from '../../identity/index.js';
import { paramOf, projectOfRevision } from '../access-lookups.js';
import type { ApiContext } from '../context.js';
import { NAME, ProjectView } from '../schemas.js';

export function projectRoutes(context: ApiContext): FastifyPluginAsyncZod {
  const { plane, store } = context;
  const view = (project: { id: string; name: string; createdAt: Date }) => ({ id: project.id, name: project.name, createdAt: project.createdAt.toISOString() });
  return async (app) => {
    app.get(
      '/v1/projects',
      {
        config: { permission: { permission: 'project:view', anyProject: true } },
        schema: { summary: 'List the projects you may see', tags: ['projects'], response: { 200: z.object({ projects: z.array(ProjectView) }) } },
      },
      async (request) => {
        const actor = request.actor!;
        const visible = [];
        for (const project of await store.projects.list()) {
          const scope = await store.projects.scope(project.name);
          if (scope && principalAllows(actor, 'project:view', { organisationId: scope.organisationId, projectId: scope.id, projectName: project.name })) visible.push(view(project));
        }
        return { projects: visible };
      },
    );

    app.post(
      '/v1/projects',
      {
        config: { permission: 'project:create' },
        schema: {
          summary: 'Create a project',
          tags: ['projects'],
          body: z.object({ name: NAME }),
          response: { 201: ProjectView },
        },
      },
      async (request, reply) => reply.status(201).send(view(await store.projects.create(request.body.name))),
    );

    app.get(
      '/v1/projects/:project',
      {
        config: { permission: 'project:view' },
        schema: {
          summary: 'One project with its services and environments',
          tags: ['projects'],
          params: z.object({ project: z.string() }),
          response: {
            200: ProjectView.extend({
              services: z.array(z.object({ id: z.string(), name: z.string() })),
              environments: z.array(z.object({ id: z.string(), name: z.string() })),
            }),
          },
        },
      },
      async (request) => {
        const project = await plane.requireProject(request.params.project);
        const services = (await store.services.list(project.id)).map((s) => ({ id: s.id, name: s.name }));
        const environments = (await store.environments.list(project.id)).map((e) => ({ id: e.id, name: e.name }));
        return { ...view(project), services, environments };
      },
    );

    app.get(
      '/v1/projects/:project/services',
      {
        config: { permission: 'project:view' },
        schema: {
          summary: 'Services of a project',
          tags: ['projects'],
          params: z.object({ project: z.string() }),
          response: { 200: z.object({ services: z.array(z.object({ id: z.string(), name: z.string() })) }) },
        },
      },
      async (request) => {
        const project = await plane.requireProject(request.params.project);
        return { services: (await store.services.list(project.id)).map((s) => ({ id: s.id, name: s.name })) };
      },
    );

    app.get(
      '/v1/projects/:project/environments',
      {
        config: { permission: 'project:view' },
        schema: {
          summary: 'Environments of a project',
          tags: ['projects'],
          params: z.object({ project: z.string() }),
          response: { 200: z.object({ environments: z.array(z.object({ id: z.string(), name: z.string() })) }) },
        },
      },
      async (request) => {
        const project = await plane.requireProject(request.params.project);
        return { environments: (await store.environments.list(project.id)).map((e) => ({ id: e.id, name: e.name })) };
      },
    );

    app.get(
      '/v1/revisions/:id',
      {
        config: { permission: { permission: 'project:view', project: (request) => projectOfRevision(store, paramOf(request, 'id')) } },
        schema: { summary: 'One revision with its replicas', tags: ['revisions'], params: z.object({ id: z.string() }) },
      },
      async (request) => {
        const revision = await store.revisions.get(request.params.id);
        if (!revision) throw new MaestroError('not_found', `no revision ${request.params.id}`);
        return {
          id: revision.id,
          state: revision.state,
          artifact: revision.artifactDigest,
          createdAt: revision.createdAt.toISOString(),
          replicas: plane.runner.replicas(revision.id).map((r) => ({ id: r.id, state: r.state, port: r.port, restarts: r.restarts })),
        };
      },
    );
  };
}
