/** Who may fetch, push, and create a project by pushing to it: the permission matrix, applied to what exists. */
import { MaestroError } from '../common/index.js';
import { decideAccess, type Permission, type Principal, type Target } from '../identity/index.js';

/**
 * A push needs at least deploy:preview on the project; what each of its refs deploys is checked again,
 * against that environment's permission, once the refs are known (the pre-receive hook).
 */
export const GIT_PERMISSIONS = { fetch: 'project:view', push: 'deploy:preview', create: 'project:create' } as const satisfies Record<string, Permission>;

export interface GitAccessInput {
  operation: 'push' | 'fetch';
  project: string;
  principal: Principal;
  /** The project as the access decision sees it (no projectId when it does not exist). */
  target: Target;
  projectExists: boolean;
  repositoryExists: boolean;
}

export type GitAccess =
  | { allowed: true; createProject: boolean; createRepository: boolean }
  | { allowed: false; error: MaestroError };

const refuse = (message: string): GitAccess => ({ allowed: false, error: new MaestroError('permission_denied', message) });

export function decideGitAccess(input: GitAccessInput): GitAccess {
  const { operation, project, principal, target } = input;
  const needed = decideAccess(principal, GIT_PERMISSIONS[operation], target);
  if (!needed.allowed) return refuse(needed.message);
  if (operation === 'fetch') {
    if (input.repositoryExists) return { allowed: true, createProject: false, createRepository: false };
    return {
      allowed: false,
      error: new MaestroError('not_found', `Maestro has no repository for project "${project}" yet; push to it first (git push <remote> main) to create it`),
    };
  }
  if (!input.projectExists) {
    const create = decideAccess(principal, GIT_PERMISSIONS.create, { organisationId: target.organisationId });
    if (!create.allowed) return refuse(`project "${project}" does not exist, and creating it by a push needs ${create.message}; create the project first, or push with a token that may`);
  }
  return { allowed: true, createProject: !input.projectExists, createRepository: !input.repositoryExists };
}
