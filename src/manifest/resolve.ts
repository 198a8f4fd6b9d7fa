/**
 * The resolved view deploys use: one service in one environment, defaults applied, overrides merged,
 * units converted. Pure; the manifest is assumed to have passed parseManifest.
 */
import { MaestroError } from '../common/errors.js';
import { parseDuration, parseSize } from '../common/units.js';
import { ENVIRONMENT_DEFAULTS, HEALTH_DEFAULTS, environmentSchema, type EnvironmentSpec, type Manifest } from './schema.js';
import type { Strategy } from './strategy-schema.js';
import { didYouMean } from './suggest.js';

export interface ServiceConfig {
  project: string;
  service: string;
  environment: string;
  /** Folder inside the repository, normalised (`.` or `apps/web`). */
  path: string;
  runtime?: string;
  build: { install?: string; command?: string; test?: string; network?: boolean; memoryBytes?: number; timeoutMs?: number };
  /** The start command; '' for runtime static, which serves `static.dir` instead. */
  start: string;
  static?: { dir: string };
  /** A fixed port the app listens on, or 'PORT' when it reads the PORT variable Maestro sets. */
  port: number | 'PORT';
  replicas: number;
  health: { path?: string; intervalMs: number; timeoutMs: number; healthyThreshold: number; unhealthyThreshold: number };
  env: Record<string, string>;
  resources: { cpu?: number; memoryBytes?: number };
  release?: string;
  dependsOn: string[];
}

export interface EnvironmentConfig {
  name: string;
  strategy: Strategy;
  warmForMs: number;
  drainMs: number;
}

/** An environment the manifest does not declare (ad-hoc names, previews without `environments.preview`) gets these. */
const UNDECLARED_ENVIRONMENT = environmentSchema.parse({});

/** The manifest's section that every preview environment it does not name itself follows. */
export const PREVIEW_ENVIRONMENT = 'preview';

export interface ResolveOptions {
  /**
   * The environment is a preview (of a branch or a pull request): unless the manifest names it, it
   * follows `environments.preview`.
   */
  preview?: boolean;
}

/** The manifest's section for an environment: its own, else `preview` for a preview, else the defaults. */
function environmentSpec(manifest: Manifest, name: string, options: ResolveOptions): EnvironmentSpec {
  if (Object.hasOwn(manifest.environments, name)) return manifest.environments[name]!;
  if (options.preview && Object.hasOwn(manifest.environments, PREVIEW_ENVIRONMENT)) return manifest.environments[PREVIEW_ENVIRONMENT]!;
  return UNDECLARED_ENVIRONMENT;
}

export function resolveEnvironment(manifest: Manifest, name: string, options: ResolveOptions = {}): EnvironmentConfig {
  const environment = environmentSpec(manifest, name, options);
  return {
    name,
    strategy: environment.strategy,
    warmForMs: milliseconds(environment.warm_for, ENVIRONMENT_DEFAULTS.warm_for),
    drainMs: milliseconds(environment.drain, ENVIRONMENT_DEFAULTS.drain),
  };
}

export function resolveServiceConfig(manifest: Manifest, serviceName: string, environmentName: string, options: ResolveOptions = {}): ServiceConfig {
  if (!Object.hasOwn(manifest.services, serviceName)) {
    const names = Object.keys(manifest.services);
    throw new MaestroError(
      'not_found',
      `no service named "${serviceName}" in project ${manifest.project}${didYouMean(serviceName, names) || `; services are ${names.join(', ')}`}`,
      { service: serviceName, services: names },
    );
  }
  const service = manifest.services[serviceName]!;
  const environment = environmentSpec(manifest, environmentName, options);
  const override = Object.hasOwn(environment.services, serviceName) ? environment.services[serviceName]! : {};

  const health = { ...service.health, ...definedOnly(override.health ?? {}) };
  const resources = { ...service.resources, ...definedOnly(override.resources ?? {}) };
  const isStatic = service.runtime === 'static';
  const port = override.port ?? service.port;
  const release = override.release ?? service.release;
  const memoryBytes = resources.memory === undefined ? undefined : parseSize(resources.memory);

  return {
    project: manifest.project,
    service: serviceName,
    environment: environmentName,
    path: service.path,
    ...(service.runtime === undefined ? {} : { runtime: service.runtime }),
    build: definedOnly({
      install: service.build.install,
      command: service.build.command,
      test: service.build.test,
      network: service.build.network,
      memoryBytes: service.build.memory === undefined ? undefined : parseSize(service.build.memory),
      timeoutMs: service.build.timeout === undefined ? undefined : parseDuration(service.build.timeout),
    }),
    start: isStatic ? '' : (override.start ?? service.start ?? ''),
    ...(isStatic ? { static: { dir: service.static?.dir ?? '.' } } : {}),
    port: port === '$PORT' ? 'PORT' : port,
    replicas: override.replicas ?? service.replicas,
    health: {
      ...(health.path === undefined ? {} : { path: health.path }),
      intervalMs: milliseconds(health.interval, HEALTH_DEFAULTS.interval),
      timeoutMs: milliseconds(health.timeout, HEALTH_DEFAULTS.timeout),
      healthyThreshold: health.healthy_threshold,
      unhealthyThreshold: health.unhealthy_threshold,
    },
    // Most specific wins: the service, then the environment, then the environment's word on this service.
    env: { ...service.env, ...environment.env, ...override.env },
    resources: {
      ...(resources.cpu === undefined ? {} : { cpu: resources.cpu }),
      ...(memoryBytes === undefined ? {} : { memoryBytes }),
    },
    ...(release === undefined ? {} : { release }),
    dependsOn: [...new Set(service.depends_on)],
  };
}

function milliseconds(written: string, fallback: string): number {
  return parseDuration(written) ?? parseDuration(fallback)!;
}

/** Drops keys whose value is undefined, so spreading an override never erases a set field. */
function definedOnly<T extends object>(value: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], undefined>;
  };
}
