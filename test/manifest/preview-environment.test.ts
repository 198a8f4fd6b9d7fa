import { describe, expect, it } from 'vitest';
import { parseManifest, resolveEnvironment, resolveServiceConfig, type Manifest } from '../../src/manifest/index.js';

function manifestOf(text: string): Manifest {
  const result = parseManifest(text, 'maestro.yml');
  if (!result.ok) throw new Error(result.problems.map((p) => p.message).join('\n'));
  return result.manifest;
}

const app = manifestOf(`
project: hello
services:
  web:
    start: node server.js
    replicas: 3
    env: { MODE: service }
environments:
  production:
    strategy: { type: canary, steps: [{ weight: 10 }, { pause: {} }] }
  preview:
    warm_for: 0s
    env: { MODE: preview }
    services: { web: { replicas: 1 } }
  pr-7:
    env: { MODE: pr-7 itself }
`);

describe('environments.preview', () => {
  it('applies to a preview environment the manifest does not name', () => {
    const web = resolveServiceConfig(app, 'web', 'feat-login', { preview: true });
    expect(web.environment).toBe('feat-login');
    expect(web.replicas).toBe(1);
    expect(web.env).toEqual({ MODE: 'preview' });
    const environment = resolveEnvironment(app, 'feat-login', { preview: true });
    expect(environment).toMatchObject({ name: 'feat-login', warmForMs: 0, strategy: { type: 'immediate' } });
  });

  it('gives way to a section the manifest has for that very environment', () => {
    expect(resolveServiceConfig(app, 'web', 'pr-7', { preview: true })).toMatchObject({ replicas: 3, env: { MODE: 'pr-7 itself' } });
    expect(resolveEnvironment(app, 'pr-7', { preview: true }).warmForMs).toBe(600_000);
  });

  it('leaves environments that are not previews as they were: their own section, or the defaults', () => {
    expect(resolveServiceConfig(app, 'web', 'feat-login')).toMatchObject({ replicas: 3, env: { MODE: 'service' } });
    expect(resolveEnvironment(app, 'feat-login').warmForMs).toBe(600_000);
    expect(resolveEnvironment(app, 'production', { preview: true }).strategy.type).toBe('canary');
  });

  it('is not needed: without it a preview gets the defaults', () => {
    const plain = manifestOf('project: hello\nservices:\n  web: { start: node server.js, replicas: 2 }\n');
    expect(resolveServiceConfig(plain, 'web', 'pr-3', { preview: true })).toMatchObject({ environment: 'pr-3', replicas: 2 });
    expect(resolveEnvironment(plain, 'pr-3', { preview: true })).toEqual(resolveEnvironment(plain, 'pr-3'));
  });
});
