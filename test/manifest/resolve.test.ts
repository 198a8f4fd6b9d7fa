import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MaestroError } from '../../src/common/errors.js';
import {
  parseManifest,
  resolveEnvironment,
  resolveServiceConfig,
  type Manifest,
} from '../../src/manifest/index.js';

function manifestOf(text: string): Manifest {
  const result = parseManifest(text, 'maestro.yml');
  if (!result.ok) throw new Error(result.problems.map((p) => p.message).join('\n'));
  return result.manifest;
}

const shop = manifestOf(readFileSync(new URL('./fixtures/shop.yml', import.meta.url), 'utf8'));

describe('resolveServiceConfig', () => {
  it('merges the environment and its overrides over the service and converts units', () => {
    expect(resolveServiceConfig(shop, 'web', 'production')).toEqual({
      project: 'shop',
      service: 'web',
      environment: 'production',
      path: 'apps/web',
      runtime: 'node',
      build: { install: 'npm ci', command: 'npm run build', test: 'npm test' },
      start: 'node server.js',
      port: 'PORT',
      replicas: 3,
      health: { path: '/healthz', intervalMs: 2000, timeoutMs: 1000, healthyThreshold: 1, unhealthyThreshold: 3 },
      env: {
        NODE_ENV: 'production',
        API_URL: 'http://api.production.shop.localhost',
        LOG_LEVEL: 'info',
        FEATURE_X: 'on',
      },
      resources: { cpu: 0.5, memoryBytes: 256 * 1024 ** 2 },
      dependsOn: ['api'],
    });
  });

  it('overrides single health and resource fields without dropping the others', () => {
    const api = resolveServiceConfig(shop, 'api', 'production');
    expect(api.health).toEqual({ path: '/ready', intervalMs: 2000, timeoutMs: 1000, healthyThreshold: 1, unhealthyThreshold: 3 });
    expect(api.resources).toEqual({ memoryBytes: 1024 ** 3 });
    expect(api.release).toBe('python manage.py migrate');
    expect(api.path).toBe('services/api');
  });

  it('serves a static service from its folder with no start command', () => {
    const docs = resolveServiceConfig(shop, 'docs', 'production');
    expect(docs.start).toBe('');
    expect(docs.static).toEqual({ dir: 'dist' });
    expect(docs.runtime).toBe('static');
  });

  it('lets the most specific env value win: service, then environment, then the environment override', () => {
    const manifest = manifestOf(
      [
        'project: p',
        'services:',
        '  web: { start: x, env: { A: service, B: service, C: service } }',
        'environments:',
        '  production:',
        '    env: { B: environment, C: environment }',
        '    services:',
        '      web: { env: { C: override } }',
      ].join('\n'),
    );
    expect(resolveServiceConfig(manifest, 'web', 'production').env).toEqual({ A: 'service', B: 'environment', C: 'override' });
  });

  it('uses the service as written in an environment the manifest does not declare', () => {
    const preview = resolveServiceConfig(shop, 'web', 'pr-12');
    expect(preview.environment).toBe('pr-12');
    expect(preview.replicas).toBe(2);
    expect(preview.env).toEqual({ NODE_ENV: 'production', API_URL: 'http://api.production.shop.localhost' });
  });

  it('takes fixed ports and start commands from an environment', () => {
    const manifest = manifestOf(
      'project: p\nservices:\n  web: { start: node a.js, port: 8080 }\nenvironments:\n  staging:\n    services:\n      web: { port: 9090, start: node b.js }\n',
    );
    expect(resolveServiceConfig(manifest, 'web', 'production')).toMatchObject({ port: 8080, start: 'node a.js' });
    expect(resolveServiceConfig(manifest, 'web', 'staging')).toMatchObject({ port: 9090, start: 'node b.js' });
  });

  it('names the services there are when asked for one that is not', () => {
    const failure = (service: string) => {
      try {
        resolveServiceConfig(shop, service, 'production');
      } catch (error) {
        return error;
      }
      throw new Error(`resolving ${service} did not fail`);
    };
    expect(failure('wbe')).toMatchObject({
      code: 'not_found',
      message: 'no service named "wbe" in project shop; did you mean `web`?',
    });
    expect(failure('cache')).toBeInstanceOf(MaestroError);
    expect(failure('cache')).toMatchObject({
      code: 'not_found',
      message: 'no service named "cache" in project shop; services are web, api, docs',
      details: { service: 'cache', services: ['web', 'api', 'docs'] },
    });
  });
});

describe('resolveEnvironment', () => {
  it('converts the declared settings', () => {
    const production = resolveEnvironment(shop, 'production');
    expect(production).toMatchObject({ name: 'production', warmForMs: 30 * 60_000, drainMs: 10_000 });
    expect(production.strategy.type).toBe('canary');
    expect(resolveEnvironment(shop, 'staging')).toEqual({
      name: 'staging',
      strategy: { type: 'rolling', max_surge: '25%', max_unavailable: 0 },
      warmForMs: 10 * 60_000,
      drainMs: 5000,
    });
  });

  it('gives any undeclared name the defaults', () => {
    expect(resolveEnvironment(shop, 'pr-12')).toEqual({
      name: 'pr-12',
      strategy: { type: 'immediate' },
      warmForMs: 600_000,
      drainMs: 5000,
    });
    // Inherited object keys are not environments.
    expect(resolveEnvironment(shop, 'constructor').strategy).toEqual({ type: 'immediate' });
  });
});
