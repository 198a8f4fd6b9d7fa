/**
 * What a request under /git/ asks for, read from its path and query alone: which project, the path
 * git http-backend should see, and whether it pushes or fetches (which decides the access it needs).
 */
import { MaestroError } from '../common/index.js';
import { checkProjectName } from './repositories.js';

export interface GitRequest {
  project: string;
  /** `/<project>.git/<rest>` for http-backend's PATH_INFO. */
  pathInfo: string;
  operation: 'push' | 'fetch';
  /** True for the POST that carries a push's pack (the one that runs the hook). */
  receivePack: boolean;
}

const URL_HELP = 'Maestro\'s git URLs look like http://<maestro>/git/<project>.git';

/**
 * `repo` is the path segment after /git/ (`hello.git`, or `hello`), `rest` what follows it
 * (`info/refs`, `git-receive-pack`, ...), `service` the query's `service` parameter.
 */
export function parseGitRequest(repo: string, rest: string, service: string | undefined): GitRequest {
  const name = repo.endsWith('.git') ? repo.slice(0, -'.git'.length) : repo;
  let project: string;
  try {
    project = checkProjectName(name);
  } catch {
    throw new MaestroError('not_found', `"${repo}" is not a project's repository: ${URL_HELP}, with the project's name (lowercase letters, digits and dashes)`);
  }
  const parts = rest.split('/');
  if (rest === '' || parts.some((part) => part === '' || part === '.' || part === '..')) {
    throw new MaestroError('not_found', `no such path in a git repository: "${rest}"; ${URL_HELP}`);
  }
  const receivePack = rest === 'git-receive-pack';
  const push = receivePack || (rest === 'info/refs' && service === 'git-receive-pack');
  return { project, pathInfo: `/${project}.git/${rest}`, operation: push ? 'push' : 'fetch', receivePack };
}
