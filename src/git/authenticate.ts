/**
 * Git clients authenticate with HTTP Basic: any user name, a Maestro API token as the password (from the
 * URL or git's credential helper). Tokens are looked up by hash and their expiry is judged here, as the
 * API's bearer auth does.
 */
import { MaestroError } from '../common/index.js';
import { hashToken } from '../identity/index.js';
import type { Store } from '../store/index.js';
import { basicCredentials } from './basic-auth.js';

export interface GitUser {
  tokenId: string;
  name: string;
  role: string;
}

const HOW = 'use a Maestro API token as the password of the git URL (http://x:<token>@<maestro>/git/<project>.git) or give it to git\'s credential helper';

export async function authenticateGitUser(tokens: Store['tokens'], authorization: string | undefined): Promise<GitUser> {
  const password = basicCredentials(authorization)?.password;
  if (!password) throw new MaestroError('unauthorized', `Maestro needs an API token: ${HOW}`);
  const record = await tokens.findByHash(hashToken(password));
  if (!record) throw new MaestroError('unauthorized', `the API token is not valid (unknown or revoked): ${HOW}`);
  if (record.expiresAt && record.expiresAt.getTime() < Date.now()) {
    throw new MaestroError('unauthorized', `the API token "${record.name}" has expired: ${HOW}, with a token that is still valid`);
  }
  return { tokenId: record.id, name: record.name, role: record.role };
}
