/** The providers Maestro takes webhooks from and sends commit statuses to, and how their names look. */
import { MaestroError } from '../common/index.js';
import { GIT_HOST_PROVIDERS, type GitHostProvider } from '../store/index.js';

export { GIT_HOST_PROVIDERS, type GitHostProvider };

/** Where statuses go unless a project names its own API base (GitHub Enterprise, a self-managed GitLab). */
export const DEFAULT_STATUS_URLS: Readonly<Record<GitHostProvider, string>> = {
  github: 'https://api.github.com',
  gitlab: 'https://gitlab.com/api/v4',
};

export const PROVIDER_NAMES: Readonly<Record<GitHostProvider, string>> = { github: 'GitHub', gitlab: 'GitLab' };

export function checkProvider(value: string): GitHostProvider {
  if (!(GIT_HOST_PROVIDERS as readonly string[]).includes(value)) {
    throw new MaestroError('validation_error', `provider must be ${GIT_HOST_PROVIDERS.join(' or ')}, got ${JSON.stringify(value)}`, { field: 'provider' });
  }
  return value as GitHostProvider;
}

// A path segment as both providers allow them: letters, digits, dots, dashes and underscores.
const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/** `owner/name` on GitHub; `group/project` or `group/sub/project` on GitLab. */
export function checkRepositoryName(provider: GitHostProvider, value: string): string {
  const parts = value.split('/');
  const shapeOk = provider === 'github' ? parts.length === 2 : parts.length >= 2 && parts.length <= 21;
  if (!shapeOk || !parts.every((part) => SEGMENT.test(part) && !part.endsWith('.git'))) {
    const example = provider === 'github' ? 'owner/name, e.g. octo-org/shop' : 'group/project or group/sub/project, e.g. acme/web/shop';
    throw new MaestroError('validation_error', `${PROVIDER_NAMES[provider]} repository ${JSON.stringify(value)} is not valid: give it as ${example} (without .git or a URL)`, {
      field: 'repository',
    });
  }
  return value;
}

/** An http(s) API base without credentials, query or fragment; a trailing slash is dropped. */
export function checkStatusUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new MaestroError('validation_error', `statusUrl ${JSON.stringify(value)} is not a URL: give the provider's API base, such as ${DEFAULT_STATUS_URLS.github}`, {
      field: 'statusUrl',
    });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new MaestroError('validation_error', `statusUrl must use http or https, not ${url.protocol.replace(/:$/, '')}`, { field: 'statusUrl' });
  }
  if (url.username || url.password || url.search || url.hash) {
    throw new MaestroError('validation_error', 'statusUrl must be a plain API base without a user, password, query or fragment: the token goes in statusToken', {
      field: 'statusUrl',
    });
  }
  return url.toString().replace(/\/+$/, '');
}

export const statusUrlOf = (provider: GitHostProvider, statusUrl: string | undefined): string => statusUrl ?? DEFAULT_STATUS_URLS[provider];
