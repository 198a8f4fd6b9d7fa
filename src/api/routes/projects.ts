import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { MaestroError } from '../../common/index.js';
import type { ApiContext } from '../context.js';
import { NAME, ProjectView } from '../schemas.js';

export function projectRoutes(context: ApiContext): FastifyPluginAsyncZod {
  const { plane, store } = context;
  const view = (project: { id: string; name: string; createdAt: Date }) => ({ id: project.id, name: project.name, createdAt: project.createdAt.toISOString() });
  return async (app) => {
    app.get(
      '/v1/projects',
      { schema: { summary: 'List projects', tags: ['projects'], response: { 200: z.object({ projects: z.array(ProjectView) }) } } },
      async () => ({ projects: (await store.projects.list()).map(view) }),
    );

    app.post(
      '/v1/projects',
      {
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
