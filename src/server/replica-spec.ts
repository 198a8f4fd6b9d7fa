import { delimiter, join } from 'node:path';
import { maestroShellCommand } from '../common/index.js';
import type { ServiceConfig } from '../manifest/index.js';
import type { ReplicaSpec } from '../runtime/index.js';

/**
 * What the agent runs for one replica of a revision: the start command from the revision's own
 * configuration snapshot, in the unpacked artifact, with an environment scrubbed down to what the
 * manifest declares plus what every app needs to run (PATH, HOME, locale).
 */
export function replicaSpec(input: { replicaId: string; revisionId: string; dir: string; config: ServiceConfig }): ReplicaSpec {
  const { config } = input;
  // The artifact is the whole source tree; the service runs in its own folder of it.
  const dir = join(input.dir, config.path);
  const command =
    config.runtime === 'static' ? maestroShellCommand('serve-static', join(dir, config.static?.dir ?? '.')) : config.start;
  return {
    id: input.replicaId,
    revisionId: input.revisionId,
    cwd: dir,
    command,
    env: appEnvironment(config, dir, input.revisionId),
    ...(config.port === 'PORT' ? {} : { port: config.port }),
    health: config.health,
    labels: { project: config.project, service: config.service, environment: config.environment },
  };
}

export function appEnvironment(config: ServiceConfig, dir: string, revisionId: string): Record<string, string> {
  const path = [join(dir, 'node_modules', '.bin'), process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin'].join(delimiter);
  return {
    PATH: path,
    HOME: process.env.HOME ?? dir,
    LANG: 'C.UTF-8',
    TZ: 'UTC',
    MAESTRO_PROJECT: config.project,
    MAESTRO_SERVICE: config.service,
    MAESTRO_ENVIRONMENT: config.environment,
    MAESTRO_REVISION: revisionId,
    ...config.env,
  };
}
