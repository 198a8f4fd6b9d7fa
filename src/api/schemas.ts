import { z } from 'zod';

/** Response shapes, shared by the routes and the OpenAPI document. */
export const DeploymentView = z.object({
  id: z.string(),
  project: z.string(),
  service: z.string(),
  environment: z.string(),
  status: z.enum(['pending', 'building', 'deploying', 'succeeded', 'failed', 'rolled_back', 'cancelled']),
  url: z.string(),
  release: z.number().nullable(),
  revision: z.string().nullable(),
  sourceDigest: z.string(),
  commit: z.string().nullable().describe('The git commit, when the source came from git'),
  ref: z.string().nullable().describe('The git ref it was pushed to, e.g. refs/heads/main'),
  releaseBuild: z.boolean().describe('A release build (a pushed tag): built and kept, not rolled out'),
  error: z.string().nullable(),
  createdAt: z.string(),
  finishedAt: z.string().nullable(),
});

export const ReleaseView = z.object({
  number: z.number(),
  id: z.string(),
  revision: z.string(),
  kind: z.enum(['deploy', 'rollback']),
  reason: z.string().nullable(),
  deployment: z.string().nullable(),
  live: z.boolean(),
  createdAt: z.string(),
});

export const ServiceStatusView = z.object({
  project: z.string(),
  service: z.string(),
  environment: z.string(),
  url: z.string(),
  status: z.enum(['serving', 'unavailable']),
  release: z.number(),
  revision: z.string(),
  replicas: z.array(
    z.object({ id: z.string(), state: z.string(), port: z.number(), restarts: z.number(), pid: z.number().optional() }),
  ),
  previous: z.object({ revision: z.string(), warmUntil: z.string() }).nullable(),
  deploying: z.array(z.string()),
});

export const RollbackResult = z.object({
  release: z.number(),
  revision: z.string(),
  from: z.number(),
  url: z.string(),
  warm: z.boolean(),
  durationMs: z.number(),
});

export const ProjectView = z.object({ id: z.string(), name: z.string(), createdAt: z.string() });

export const ErrorBody = z.object({
  error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }),
});

/** `<service>/<environment>` path parameters. */
export const TargetParams = z.object({ project: z.string(), service: z.string(), environment: z.string() });

export const NAME = z.string().regex(/^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$/, 'must be a DNS label: lowercase letters, digits and -, at most 40 characters');
