/** Who may fetch, push, and create a project by pushing to it: decided from the token's role and what exists. */
import { MaestroError } from '../common/index.js';

/** Roles that only read (the same ones the remote cache treats as read-only). */
export const READ_ONLY_ROLES: readonly string[] = ['viewer', 'cache-reader'];
/** Roles that may create a project by pushing to a new repository. */
export const PROJECT_CREATOR_ROLES: readonly string[] = ['owner', 'admin'];

export interface GitAccessInput {
  operation: 'push' | 'fetch';
  project: string;
  token: { name: string; role: string };
  projectExists: boolean;
  repositoryExists: boolean;
}

export type GitAccess =
  | { allowed: true; createProject: boolean; createRepository: boolean }
  | { allowed: false; error: MaestroError };

export function decideGitAccess(input: GitAccessInput): GitAccess {
  const { operation, project, token } = input;
  if (operation === 'fetch') {
    if (input.repositoryExists) return { allowed: true, createProject: false, createRepository: false };
    return {
      allowed: false,
      error: new MaestroError('not_found', `Maestro has no repository for project "${project}" yet; push to it first (git push <remote> main) to create it`),
    };
  }
  if (READ_ONLY_ROLES.includes(token.role)) {
    return {
      allowed: false,
      error: new MaestroError(
        'permission_denied',
        `the token "${token.name}" has the read-only role "${token.role}": it may fetch but not push; push with a token of another role`,
      ),
    };
  }
  if (!input.projectExists && !PROJECT_CREATOR_ROLES.includes(token.role)) {
    return {
      allowed: false,
      error: new MaestroError(
        'permission_denied',
        `project "${project}" does not exist, and creating it by a push takes a token with role ${PROJECT_CREATOR_ROLES.join(' or ')}; ` +
          `the token "${token.name}" has role "${token.role}": create the project first or push with such a token`,
      ),
    };
  }
  return { allowed: true, createProject: !input.projectExists, createRepository: !input.repositoryExists };
}
