/**
 * The environment a build step sees: scrubbed down to a known few variables plus what the service
 * asks for, so a build does not depend on (or leak) whatever the control plane happens to have.
 */
import { dirname } from 'node:path';
import { MaestroError } from '../common/index.js';

const FALLBACK_PATH = '/usr/local/bin:/usr/bin:/bin';
const NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function stepEnvironment(
  home: string,
  extra: Record<string, string>,
  inherited: NodeJS.ProcessEnv = process.env,
  nodeBinary: string = process.execPath,
): Record<string, string> {
  checkEnvironment(extra);
  // The node that runs Maestro comes first, so `node` and `npm` in a step are the ones Maestro runs on.
  const nodeDir = dirname(nodeBinary);
  const path = inherited.PATH || FALLBACK_PATH;
  const searchPath = path.split(':').includes(nodeDir) ? path : `${nodeDir}:${path}`;
  return { PATH: searchPath, HOME: home, LANG: 'C.UTF-8', TZ: 'UTC', CI: '1', ...extra };
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
