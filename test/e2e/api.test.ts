import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { packSource } from '../../src/build/index.js';
import { startTestMaestro, stopTestMaestro, EXAMPLES, type TestMaestro } from './harness.js';
import { join } from 'node:path';

/** A tar header + body for one entry, written by hand so hostile names can be made. */
function tarEntry(name: string, body: string): Buffer {
  const header = Buffer.alloc(512);
  header.write(name, 0, 100, 'utf8');
  header.write('0000644\0', 100);
  header.write('0000000\0', 108);
  header.write('0000000\0', 116);
  header.write(body.length.toString(8).padStart(11, '0') + '\0', 124);
  header.write('00000000000\0', 136);
  header.write('        ', 148);
  header.write('0', 156);
  header.write('ustar\0', 257);
  header.write('00', 263);
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
  const data = Buffer.alloc(Math.ceil(body.length / 512) * 512);
  data.write(body);
  return Buffer.concat([header, data]);
}

describe('the API refuses bad input clearly', () => {
  let maestro: TestMaestro;
  const api = (path: string, init: { method?: string; token?: string | null; body?: Buffer | string; type?: string } = {}) =>
    request(`${maestro.apiUrl}${path}`, {
      method: (init.method ?? 'GET') as 'GET',
      headers: {
        ...(init.token === null ? {} : { authorization: `Bearer ${init.token ?? maestro.token}` }),
        ...(init.type ? { 'content-type': init.type } : {}),
      },
      ...(init.body === undefined ? {} : { body: init.body }),
    });

  beforeAll(async () => {
    maestro = await startTestMaestro({ maxUploadBytes: 64 * 1024 });
  });
  afterAll(async () => stopTestMaestro(maestro));

  it('answers /healthz without a token and nothing else', async () => {
    expect((await api('/healthz', { token: null })).statusCode).toBe(200);
    const missing = await api('/v1/projects', { token: null });
    expect(missing.statusCode).toBe(401);
    expect(await missing.body.json()).toMatchObject({ error: { code: 'unauthorized', message: expect.stringContaining('Bearer') } });
    const wrong = await api('/v1/status', { token: 'mae_not-a-real-token-at-all-000000' });
    expect(wrong.statusCode).toBe(401);
  });

  it('publishes an OpenAPI 3 document of its routes', async () => {
    const response = await api('/v1/openapi.json');
    const doc = (await response.body.json()) as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/v1/sources', '/v1/projects/{project}/deployments', '/v1/deployments/{id}', '/v1/status']),
    );
  });

  it('answers 413 for an upload over the limit', async () => {
    const response = await api('/v1/sources', { method: 'POST', body: Buffer.alloc(100 * 1024, 1), type: 'application/gzip' });
    expect(response.statusCode).toBe(413);
    expect(await response.body.json()).toMatchObject({ error: { code: 'payload_too_large' } });
  });

  it('refuses archives with absolute paths or .. entries, and writes nothing outside', async () => {
    for (const name of ['../escape.txt', '/etc/escape.txt', 'a/../../escape.txt']) {
      const archive = gzipSync(Buffer.concat([tarEntry('maestro.yml', 'project: x\nservices: {web: {start: node s.js}}\n'), tarEntry(name, 'x'), Buffer.alloc(1024)]));
      const upload = await api('/v1/sources', { method: 'POST', body: archive, type: 'application/gzip' });
      expect(upload.statusCode).toBe(201);
      const { digest } = (await upload.body.json()) as { digest: string };
      const deploy = await api('/v1/projects/x/deployments', { method: 'POST', body: JSON.stringify({ source: digest }), type: 'application/json' });
      const created = (await deploy.body.json()) as { deployments: Array<{ id: string }> };
      await maestro.plane.idle();
      const after = await maestro.plane.getDeployment(created.deployments[0]!.id);
      expect(after.status).toBe('failed');
      expect(after.error).toMatch(/escape\.txt/);
    }
  });

  it('says what is wrong with a deployment request', async () => {
    const badName = await api('/v1/projects/Bad_Name/deployments', { method: 'POST', body: JSON.stringify({ source: 'a'.repeat(64) }), type: 'application/json' });
    expect(badName.statusCode).toBe(400);
    expect(((await badName.body.json()) as { error: { message: string } }).error.message).toContain('DNS label');
    const bad = await api('/v1/projects/hello/deployments', { method: 'POST', body: JSON.stringify({ source: 'abc' }), type: 'application/json' });
    expect(bad.statusCode).toBe(400);
    const body = (await bad.body.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('validation_error');
    expect(body.error.message).toContain('source');

    const unknown = await api('/v1/projects/hello/deployments', { method: 'POST', body: JSON.stringify({ source: 'a'.repeat(64) }), type: 'application/json' });
    expect(unknown.statusCode).toBe(404);
  });

  it('rejects a source without a maestro.yml with the way out', async () => {
    const archive = gzipSync(Buffer.concat([tarEntry('index.js', 'x'), Buffer.alloc(1024)]));
    const { digest } = (await (await api('/v1/sources', { method: 'POST', body: archive, type: 'application/gzip' })).body.json()) as { digest: string };
    const response = await api('/v1/projects/x/deployments', { method: 'POST', body: JSON.stringify({ source: digest }), type: 'application/json' });
    expect(response.statusCode).toBe(400);
    expect(((await response.body.json()) as { error: { message: string } }).error.message).toContain('maestro init');
  });

  it('is idempotent: the same source deployed twice while in progress is one deployment', async () => {
    const packed = await packSource(join(EXAMPLES, 'node-hello'));
    const { digest } = (await (await api('/v1/sources', { method: 'POST', body: packed.archive, type: 'application/gzip' })).body.json()) as { digest: string };
    const create = () => api('/v1/projects/hello/deployments', { method: 'POST', body: JSON.stringify({ source: digest }), type: 'application/json' }).then((r) => r.body.json() as Promise<{ deployments: Array<{ id: string }> }>);
    const [first, second] = await Promise.all([create(), create()]);
    expect(first.deployments[0]!.id).toBe(second.deployments[0]!.id);
    await maestro.plane.idle();
  });
});
