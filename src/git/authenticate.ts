/**
 * Git clients authenticate with HTTP Basic: any user name, a Maestro API token as the password (from the
 * URL or git's credential helper). The token is judged as the API judges bearer tokens.
 */
import { MaestroError, isMaestroError } from '../common/index.js';
import { authenticateToken, type Principal } from '../identity/index.js';
import type { Store } from '../store/index.js';
import { basicCredentials } from './basic-auth.js';

const HOW = 'use a Maestro API token as the password of the git URL (http://x:<token>@<maestro>/git/<project>.git) or give it to git\'s credential helper';

export async function authenticateGitUser(store: Pick<Store, 'tokens' | 'users' | 'memberships' | 'sessions'>, authorization: string | undefined): Promise<Principal> {
  const password = basicCredentials(authorization)?.password;
  if (!password) throw new MaestroError('unauthorized', `Maestro needs an API token: ${HOW}`);
  try {
    return await authenticateToken(store, password);
  } catch (error) {
    if (isMaestroError(error) && error.code === 'unauthorized') throw new MaestroError('unauthorized', `${error.message}; ${HOW}`);
    throw error;
  }
}
