/**
 * The maestro.yml schema, version 1. Keys are snake_case as users write YAML. Parsing fills in defaults,
 * so a Manifest always has version, services' path/port/replicas/health/env/depends_on and at least the
 * environments the file declares (or `production`). Conditions across fields live in cross-checks.ts.
 */
import { z } from 'zod';
import {
  dnsName,
  duration,
  envMap,
  expecting,
  oneOf,
  relativeFolder,
  repositoryGlob,
  size,
  text,
  wholeNumber,
} from './fields.js';
import { strategySchema } from './strategy-schema.js';
import { policiesSchema } from './policy-schema.js';
import { describeValue } from './suggest.js';

export const MANIFEST_VERSION = 1;
export const RUNTIMES = ['node', 'python', 'go', 'ruby', 'static', 'custom'] as const;
export const HEALTH_DEFAULTS = { interval: '2s', timeout: '1s', healthy_threshold: 1, unhealthy_threshold: 3 } as const;
export const ENVIRONMENT_DEFAULTS = { strategy: 'immediate', warm_for: '10m', drain: '5s' } as const;
export const DEFAULT_ENVIRONMENT = 'production';

const portError = expecting('$PORT or a port number from 1 to 65535');
const port = z
  .union([z.literal('$PORT'), z.int({ error: portError }).min(1, { error: portError }).max(65535, { error: portError })], {
    error: portError,
  })
  .describe('"$PORT" when the app listens on the port in the PORT variable (Maestro picks it), or the fixed port the app always listens on.');

const replicas = wholeNumber(0, 100).describe('How many copies of the service run.');

/** Health fields without defaults, so an environment override only changes what it names. */
const healthFields = {
  path: z
    .string({ error: expecting('an HTTP path starting with /') })
    .regex(/^\/\S*$/, { error: expecting('an HTTP path starting with /, like /healthz') })
    .optional()
    .describe('HTTP path that answers 2xx when the app is healthy; without it Maestro checks that the port accepts connections.'),
  interval: duration({ positive: true }).describe('Time between probes.'),
  timeout: duration({ positive: true }).describe('How long one probe may take.'),
  healthy_threshold: wholeNumber(1, 100).describe('Consecutive passing probes before a replica counts as healthy.'),
  unhealthy_threshold: wholeNumber(1, 100).describe('Consecutive failing probes before a replica counts as unhealthy.'),
};

const healthDescription = 'How Maestro decides a replica is ready and still alive.';

const health = z
  .strictObject({
    path: healthFields.path,
    interval: healthFields.interval.default(HEALTH_DEFAULTS.interval),
    timeout: healthFields.timeout.default(HEALTH_DEFAULTS.timeout),
    healthy_threshold: healthFields.healthy_threshold.default(HEALTH_DEFAULTS.healthy_threshold),
    unhealthy_threshold: healthFields.unhealthy_threshold.default(HEALTH_DEFAULTS.unhealthy_threshold),
  })
  .describe(healthDescription);

const healthOverride = z
  .strictObject({
    path: healthFields.path,
    interval: healthFields.interval.optional(),
    timeout: healthFields.timeout.optional(),
    healthy_threshold: healthFields.healthy_threshold.optional(),
    unhealthy_threshold: healthFields.unhealthy_threshold.optional(),
  })
  .describe(`${healthDescription} Fields named here replace the service's.`);

const resources = z
  .strictObject({
    cpu: z
      .number({ error: expecting('a number of CPU cores greater than 0, like 0.5') })
      .positive({ error: expecting('a number of CPU cores greater than 0, like 0.5') })
      .max(1024, { error: expecting('a number of CPU cores up to 1024') })
      .optional()
      .describe('CPU cores, like 0.5.'),
    memory: size().optional().describe('Memory limit, like 256Mi, 1Gi or 512M.'),
  })
  .describe('Resource limits for each replica.');

const start = text('the command that starts the app, like node server.js').describe(
  'The command that starts the app. Required unless runtime is static.',
);
const release = text('a command, like npm run migrate').describe(
  'A command run once from the new build before traffic moves, e.g. database migrations.',
);

const build = z
  .strictObject({
    install: text('a command, like npm ci').optional().describe('Installs dependencies, e.g. npm ci.'),
    command: text('a command, like npm run build').optional().describe('Builds the app, e.g. npm run build.'),
    test: text('a command, like npm test').optional().describe('Tests the build; a failure stops the deploy.'),
    network: z
      .boolean({ error: expecting('true or false') })
      .optional()
      .describe('Whether the build and test steps may use the network (install always may). Default false.'),
    memory: size().optional().describe('Memory limit for each build step, like 2Gi. Default: no limit beyond the server\'s.'),
    timeout: duration({ positive: true }).optional().describe('Time limit for the whole build, like 15m. Default 30m.'),
  })
  .describe('Build steps, run in order in a sandbox; all optional.');

export const serviceSchema = z
  .strictObject({
    path: relativeFolder().prefault('.').describe('The service folder inside the repository, relative to maestro.yml.'),
    runtime: oneOf(RUNTIMES).optional().describe('The language runtime; detected when left out.'),
    build: build.prefault({}),
    start: start.optional(),
    static: z
      .strictObject({
        dir: relativeFolder().prefault('.').describe('The folder to serve, inside the service folder.'),
      })
      .optional()
      .describe('For runtime static: the folder to serve.'),
    port: port.default('$PORT'),
    replicas: replicas.default(1),
    health: health.prefault({}),
    env: envMap('Environment variables for the service.').prefault({}),
    resources: resources.optional(),
    release: release.optional(),
    // Entries are plain text here: cross-checks match them against the service names, with a guess.
    depends_on: z
      .array(text('a service name'), { error: expecting('a list of service names') })
      .default([])
      .describe('Services that must be running before this one starts.'),
    watch: z
      .array(repositoryGlob(), { error: expecting('a list of path patterns, like [apps/web, packages/ui]') })
      .optional()
      .describe(
        "Paths whose change redeploys this service when a push arrives: patterns relative to the repository root (where maestro.yml is), a folder's name covering everything in it, `!pattern` leaving paths out. Default: the service's folder, the workspace packages it depends on and the workspace root's own files (package.json, the lockfile). A change to maestro.yml redeploys every service.",
      ),
  })
  .describe('One deployable service.');

/** What an environment may change about a service; everything else comes from the service itself. */
const serviceOverride = z
  .strictObject({
    replicas: replicas.optional(),
    env: envMap('Variables added to (or replacing) the service and environment ones.').optional(),
    resources: resources.optional(),
    health: healthOverride.optional(),
    start: start.optional(),
    port: port.optional(),
    release: release.optional(),
  })
  .describe('Changes to one service in this environment.');

export const environmentSchema = z
  .strictObject({
    strategy: strategySchema.prefault(ENVIRONMENT_DEFAULTS.strategy),
    warm_for: duration()
      .default(ENVIRONMENT_DEFAULTS.warm_for)
      .describe('How long the previous revision stays warm after a deploy, for instant rollback.'),
    drain: duration()
      .default(ENVIRONMENT_DEFAULTS.drain)
      .describe('Grace period for in-flight requests before the old revision is stopped.'),
    env: envMap('Environment variables for every service in this environment.').prefault({}),
    // Keys are plain text here: cross-checks match them against the service names, with a guess.
    services: z
      .record(z.string(), serviceOverride, { error: expecting('a mapping of service names to changes') })
      .default({})
      .describe('Per-service changes in this environment: replicas, env, resources, health, start, port, release.'),
  })
  .describe('One environment, e.g. production, staging or a preview.');

const services = z
  .record(dnsName('service'), serviceSchema, { error: expecting('a mapping of service names to services') })
  .refine((map) => Object.keys(map).length > 0, { error: 'needs at least one service' })
  .describe('The services of the project, by name.');

const environments = z
  .record(dnsName('environment'), environmentSchema, { error: expecting('a mapping of environment names') })
  .prefault({ [DEFAULT_ENVIRONMENT]: {} })
  .describe(
    'Environments by name. Default: production with strategy immediate. Any other name can be deployed to with defaults; `preview` applies to every preview environment (of a branch or a pull request) not named here.',
  );

export const manifestSchema = z
  .strictObject(
    {
      version: z
        .literal(MANIFEST_VERSION, {
          error: (issue) => `must be ${MANIFEST_VERSION}, the manifest version this Maestro understands, got ${describeValue(issue.input)}`,
        })
        .default(MANIFEST_VERSION)
        .describe('Version of the maestro.yml format.'),
      project: dnsName('project').describe('The project name; it appears in every address Maestro serves.'),
      services,
      environments,
      policies: policiesSchema.optional(),
    },
    { error: expecting('a mapping with project and services') },
  )
  .describe('maestro.yml: how Maestro builds and deploys this repository.');

export type Manifest = z.output<typeof manifestSchema>;
export type ManifestInput = z.input<typeof manifestSchema>;
export type ServiceSpec = z.output<typeof serviceSchema>;
export type EnvironmentSpec = z.output<typeof environmentSchema>;
export type ServiceOverride = z.output<typeof serviceOverride>;
export type Runtime = (typeof RUNTIMES)[number];
