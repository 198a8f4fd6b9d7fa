import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { MaestroError } from '../common/index.js';
import type { ReplicaSpec } from './types.js';

/** Ids name files (`<id>.json`, `<id>.log`), so they may not hold separators or start with a dot. */
export const REPLICA_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const ENV_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;

const positiveInt = z.number().int().positive();

export const healthSpecSchema = z.object({
  path: z
    .string()
    .startsWith('/', { error: 'must start with "/", e.g. "/healthz"' })
    .optional(),
  intervalMs: positiveInt,
  timeoutMs: positiveInt,
  healthyThreshold: positiveInt,
  unhealthyThreshold: positiveInt,
});

export const replicaSpecSchema = z.object({
  id: z.string().regex(REPLICA_ID_PATTERN, {
    error: 'must be 1-128 letters, digits, "_", "." or "-", starting with a letter or digit',
  }),
  revisionId: z.string().min(1, { error: 'must not be empty' }),
  cwd: z.string().refine((value) => isAbsolute(value), { error: 'must be an absolute path' }),
  command: z.string().refine((value) => value.trim() !== '', { error: 'must not be empty' }),
  env: z.record(
    z.string().regex(ENV_NAME_PATTERN, { error: 'environment variable names are letters, digits and "_"' }),
    z.string(),
  ),
  port: z.number().int().min(1).max(65535).optional(),
  health: healthSpecSchema,
  labels: z.record(z.string(), z.string()).optional(),
});

/** Checks a spec and says exactly which field to fix. */
export function validateReplicaSpec(spec: unknown): ReplicaSpec {
  const result = replicaSpecSchema.safeParse(spec);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const where = issue.path.length > 0 ? issue.path.map(String).join('.') : 'spec';
    // A bad record key carries the key's own (clearer) message one level down.
    const nested = issue.code === 'invalid_key' ? issue.issues[0]?.message : undefined;
    return `${where}: ${nested ?? issue.message}`;
  });
  throw new MaestroError('validation_error', `invalid replica spec: ${problems.join('; ')}`, { problems });
}

export function assertReplicaId(id: string): void {
  if (!REPLICA_ID_PATTERN.test(id)) {
    throw new MaestroError(
      'validation_error',
      `invalid replica id ${JSON.stringify(id)}: use 1-128 letters, digits, "_", "." or "-", starting with a letter or digit`,
    );
  }
}

/** Variables the app inherits from the agent: enough to find programs, nothing that could hold a secret. */
const INHERITED_ENV = ['PATH', 'HOME', 'USER', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR'];

/** The environment a replica runs with: a few inherited basics, the app's own variables, then PORT. */
export function buildReplicaEnv(
  appEnv: Record<string, string>,
  port: number,
  agentEnv: Record<string, string | undefined>,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of INHERITED_ENV) {
    const value = agentEnv[name];
    if (value !== undefined) env[name] = value;
  }
  return { ...env, ...appEnv, PORT: String(port) };
}
