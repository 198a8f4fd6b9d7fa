/**
 * What a request is about, for the access guard: the project behind an id in the path, the kind of an
 * environment. The guard runs before the request is validated, so these read the raw request and answer
 * undefined for anything they cannot find (the route then answers 400 or 404 itself).
 */
import type { FastifyRequest } from 'fastify';
import { deployPermission, type Permission } from '../identity/index.js';
import type { Store } from '../store/index.js';

function field(source: unknown, name: string): string | undefined {
  if (typeof source !== 'object' || source === null || Array.isArray(source)) return undefined;
  const value = (source as Record<string, unknown>)[name];
  return typeof value === 'string' ? value : undefined;
}

export const paramOf = (request: FastifyRequest, name: string): string | undefined => field(request.params, name);
export const queryOf = (request: FastifyRequest, name: string): string | undefined => field(request.query, name);
export const bodyOf = (request: FastifyRequest, name: string): string | undefined => field(request.body, name);

async function projectName(store: Store, projectId: string | undefined): Promise<string | undefined> {
  return projectId ? (await store.projects.getById(projectId))?.name : undefined;
}

export async function projectOfDeployment(store: Store, id: string | undefined): Promise<string | undefined> {
  return id ? projectName(store, (await store.deployments.get(id))?.projectId) : undefined;
}

export async function projectOfBuild(store: Store, id: string | undefined): Promise<string | undefined> {
  const build = id ? await store.builds.get(id) : undefined;
  return build ? projectOfDeployment(store, build.deploymentId) : undefined;
}

export async function projectOfRevision(store: Store, id: string | undefined): Promise<string | undefined> {
  const revision = id ? await store.revisions.get(id) : undefined;
  return revision ? projectName(store, (await store.services.getById(revision.serviceId))?.projectId) : undefined;
}

export async function projectOfWebhook(store: Store, id: string | undefined): Promise<string | undefined> {
  return id ? projectName(store, (await store.webhooks.get(id))?.projectId) : undefined;
}

export async function projectOfDelivery(store: Store, id: string | undefined): Promise<string | undefined> {
  const delivery = id ? await store.deliveries.get(id) : undefined;
  return delivery ? projectOfWebhook(store, delivery.webhookId) : undefined;
}

/** Production, a live preview of the project, or anything else (staging and the like). */
export async function environmentKind(store: Store, project: string | undefined, environment: string): Promise<'production' | 'preview' | 'other'> {
  if (environment === 'production') return 'production';
  const record = project ? await store.projects.get(project) : undefined;
  if (record && (await store.previews.getByName(record.id, environment))) return 'preview';
  return 'other';
}

/** The permission deploying (promoting, aborting) in an environment of a project takes. */
export async function deployPermissionIn(store: Store, project: string | undefined, environment: string): Promise<Permission> {
  return deployPermission({ name: environment, kind: await environmentKind(store, project, environment) });
}

/** The deploy permission of the environment a deployment (or a build's deployment) is in. */
export async function deployPermissionOfDeployment(store: Store, id: string | undefined): Promise<Permission> {
  const deployment = id ? await store.deployments.get(id) : undefined;
  if (!deployment) return 'deploy:preview';
  const environment = await store.environments.getById(deployment.environmentId);
  return deployPermissionIn(store, await projectName(store, deployment.projectId), environment?.name ?? 'production');
}
