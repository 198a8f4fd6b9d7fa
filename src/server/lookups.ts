import { MaestroError } from '../common/index.js';
import type { Environment, Project, Service, Store } from '../store/index.js';

/** Names from the API and the CLI to records, with errors that list what does exist. */
export async function requireProject(store: Store, name: string): Promise<Project> {
  const project = await store.projects.get(name);
  if (project) return project;
  const known = (await store.projects.list()).map((p) => p.name);
  throw new MaestroError('not_found', `no project "${name}"${known.length ? `; projects: ${known.join(', ')}` : '; deploy one with `maestro deploy`'}`);
}

interface ProjectMembers<T> {
  get(projectId: string, name: string): Promise<T | undefined>;
  list(projectId: string): Promise<T[]>;
}

async function requireMember<T extends { name: string }>(
  kind: 'service' | 'environment',
  members: ProjectMembers<T>,
  project: Project,
  name: string,
): Promise<T> {
  const found = await members.get(project.id, name);
  if (found) return found;
  const known = (await members.list(project.id)).map((member) => member.name);
  throw new MaestroError('not_found', `project "${project.name}" has no ${kind} "${name}"${known.length ? `; ${kind}s: ${known.join(', ')}` : ''}`);
}

export const requireService = (store: Store, project: Project, name: string): Promise<Service> => requireMember('service', store.services, project, name);

export const requireEnvironment = (store: Store, project: Project, name: string): Promise<Environment> =>
  requireMember('environment', store.environments, project, name);

/** A service in an environment of a project, all three required. */
export async function requireTarget(store: Store, project: string, service: string, environment: string) {
  const p = await requireProject(store, project);
  return { project: p, service: await requireService(store, p, service), environment: await requireEnvironment(store, p, environment) };
}
