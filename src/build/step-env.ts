/**
 * The environment a build step sees: scrubbed down to a known few variables plus what the service
 * asks for, so a build does not depend on (or leak) whatever the control plane happens to have;
 * for a Go or Cargo service, also where those tools keep their downloads (see tool-caches.ts).
 */
import { dirname } from 'node:path';
import { MaestroError } from '../common/index.js';
import { toolCacheEnvironment, type CachedTool } from './cache/tool-caches.js';

const FALLBACK_PATH = '/usr/local/bin:/usr/bin:/bin';
const NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function stepEnvironment(
  home: string,
  extra: Record<string, string>,
  options: { tools?: readonly CachedTool[]; inherited?: NodeJS.ProcessEnv; nodeBinary?: string } = {},
): Record<string, string> {
  checkEnvironment(extra);
  const inherited = options.inherited ?? process.env;
  // The node that runs Maestro comes first, so `node` and `npm` in a step are the ones Maestro runs on.
  const nodeDir = dirname(options.nodeBinary ?? process.execPath);
  const path = inherited.PATH || FALLBACK_PATH;
  const searchPath = path.split(':').includes(nodeDir) ? path : `${nodeDir}:${path}`;
  return {
    PATH: searchPath,
    HOME: home,
    LANG: 'C.UTF-8',
    TZ: 'UTC',
    CI: '1',
    ...extra,
    ...toolCacheEnvironment(home, options.tools ?? [], extra, inherited),
  };
}

export function checkEnvironment(env: Record<string, string>): void {
  for (const [name, value] of Object.entries(env)) {
    if (!NAME_PATTERN.test(name)) {
      throw new MaestroError('validation_error', `environment variable name "${name.slice(0, 80)}" is not valid; use letters, digits and _, not starting with a digit`);
    }
    if (typeof value !== 'string' || value.includes('\0')) {
      throw new MaestroError('validation_error', `environment variable ${name} must be a string without NUL bytes`);
    }
  }
}
