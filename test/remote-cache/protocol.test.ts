import { createHash, randomBytes } from 'node:crypto';
import { chmod, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import { connect } from 'node:net';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evictRemoteCache, remoteCacheRoot } from '../../src/build/remote-cache/index.js';
import { generateToken, hashToken } from '../../src/identity/index.js';
import { startTestMaestro, stopTestMaestro, type TestMaestro } from '../e2e/harness.js';

// Small limits, so 413 and eviction are cheap to reach. Read when the API starts.
process.env.MAESTRO_REMOTE_CACHE_MAX_ARTIFACT = '128Ki';
process.env.MAESTRO_REMOTE_CACHE_QUOTA = '300Ki';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  text: string;
}

let maestro: TestMaestro;
const tokens: Record<'reader' | 'viewer' | 'ci', string> = { reader: generateToken(), viewer: generateToken(), ci: generateToken() };

async function call(
  method: 'GET' | 'HEAD' | 'PUT' | 'POST',
  path: string,
  options: { token?: string | null; headers?: Record<string, string>; body?: Buffer | string | Readable } = {},
): Promise<Answer> {
  const token = options.token === undefined ? maestro.token : options.token;
  const response = await request(`${maestro.apiUrl}${path}`, {
    method,
    headers: {
      ...(token === null ? {} : { authorization: `Bearer ${token}` }),
      ...(options.body !== undefined && typeof options.body !== 'string' ? { 'content-type': 'application/octet-stream' } : {}),
      ...options.headers,
    },
    ...(options.body === undefined ? {} : { body: options.body }),
  });
  const body = Buffer.from(await response.body.arrayBuffer());
  return { status: response.statusCode, headers: response.headers, body, text: body.toString() };
}

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');
const blobPath = (bytes: Buffer): string => {
  const digest = sha256(bytes);
  return join(remoteCacheRoot(maestro.dataDir), 'sha256', digest.slice(0, 2), digest);
};
const exists = (path: string): Promise<boolean> => stat(path).then(
  () => true,
  () => false,
);
async function entry(project: string, hash: string) {
  const found = await maestro.store.projects.get(project);
  return found && maestro.store.remoteCache.get(found.id, hash);
}

beforeAll(async () => {
  maestro = await startTestMaestro();
  await maestro.store.tokens.create({ name: 'laptop', hash: hashToken(tokens.reader), role: 'cache-reader' });
  await maestro.store.tokens.create({ name: 'observer', hash: hashToken(tokens.viewer), role: 'viewer' });
  await maestro.store.tokens.create({ name: 'ci', hash: hashToken(tokens.ci), role: 'developer' });
});

afterAll(async () => {
  await stopTestMaestro(maestro);
});

describe('Turborepo protocol', () => {
  it('stores an artifact and serves it back with its duration and tag unchanged', async () => {
    const bytes = randomBytes(40_000);
    expect((await call('GET', '/v8/artifacts/status?slug=web')).text).toBe('{"status":"enabled"}');
    expect(await maestro.store.projects.get('web')).toBeUndefined();

    const put = await call('PUT', '/v8/artifacts/7501e74b222309d7?slug=web', {
      headers: { 'x-artifact-duration': '1234', 'x-artifact-tag': 'c2lnbmF0dXJl+/==' },
      body: bytes,
    });
    expect(put.status).toBe(202);
    expect(JSON.parse(put.text)).toEqual({ urls: ['/v8/artifacts/7501e74b222309d7?slug=web'] });
    expect(await maestro.store.projects.get('web')).toBeDefined();

    const get = await call('GET', '/v8/artifacts/7501e74b222309d7?slug=web');
    expect(get.status).toBe(200);
    expect(get.body.equals(bytes)).toBe(true);
    expect(get.headers).toMatchObject({
      'content-type': 'application/octet-stream',
      'content-length': '40000',
      'x-artifact-duration': '1234',
      'x-artifact-tag': 'c2lnbmF0dXJl+/==',
    });

    const head = await call('HEAD', '/v8/artifacts/7501e74b222309d7?slug=web');
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
    expect(head.headers).toMatchObject({ 'x-artifact-duration': '1234', 'x-artifact-tag': 'c2lnbmF0dXJl+/==' });
    expect((await call('HEAD', '/v8/artifacts/0000000000000000?slug=web')).status).toBe(404);

    const query = await call('POST', '/v8/artifacts?slug=web', {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ hashes: ['7501e74b222309d7', '0000000000000000'] }),
    });
    expect(query.status).toBe(200);
    expect(JSON.parse(query.text)).toEqual({
      '7501e74b222309d7': { size: 40_000, taskDurationMs: 1234, tag: 'c2lnbmF0dXJl+/==' },
      '0000000000000000': null,
    });

    const openapi = JSON.parse((await call('GET', '/v1/openapi.json')).text) as { paths: Record<string, unknown> };
    expect(Object.keys(openapi.paths)).toEqual(expect.arrayContaining(['/v8/artifacts/{hash}', '/v8/artifacts', '/nx/v1/cache/{hash}']));

    const events = await call('POST', '/v8/artifacts/events?slug=web', {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([{ sessionId: 'x', source: 'REMOTE', event: 'HIT', hash: '7501e74b222309d7', duration: 10 }]),
    });
    expect(events.status).toBe(200);
  });

  it('replaces an artifact on a second upload, deleting the blob nothing names any more', async () => {
    const first = randomBytes(1000);
    const second = randomBytes(1000);
    expect((await call('PUT', '/v8/artifacts/replaced?slug=web', { body: first })).status).toBe(202);
    expect(await exists(blobPath(first))).toBe(true);
    expect((await call('PUT', '/v8/artifacts/replaced?slug=web', { body: second, headers: { 'x-artifact-duration': '5' } })).status).toBe(202);
    const get = await call('GET', '/v8/artifacts/replaced?slug=web');
    expect(get.body.equals(second)).toBe(true);
    expect(get.headers['x-artifact-duration']).toBe('5');
    expect(get.headers['x-artifact-tag']).toBeUndefined();
    expect(await exists(blobPath(first))).toBe(false);
  });

  it('keeps namespaces apart, takes the team id without its prefix, and never creates a project on a read', async () => {
    const bytes = randomBytes(100);
    expect((await call('PUT', '/v8/artifacts/shared?teamId=team_shop', { body: bytes })).status).toBe(202);
    expect((await call('GET', '/v8/artifacts/shared?slug=shop')).body.equals(bytes)).toBe(true);
    expect((await call('GET', '/v8/artifacts/shared?slug=web')).status).toBe(404);
    expect((await call('GET', '/v8/artifacts/shared?slug=nobody-here')).status).toBe(404);
    expect(await maestro.store.projects.get('nobody-here')).toBeUndefined();
  });
});

describe('Nx protocol', () => {
  it('stores a task output once: 200, then 409 on any overwrite, and 404 for what it never had', async () => {
    const bytes = randomBytes(5000);
    const put = await call('PUT', '/nx/v1/cache/11785424389410358069', { body: bytes });
    expect(put.status).toBe(200);
    const get = await call('GET', '/nx/v1/cache/11785424389410358069');
    expect(get.status).toBe(200);
    expect(get.headers['content-type']).toBe('application/octet-stream');
    expect(get.body.equals(bytes)).toBe(true);

    const again = await call('PUT', '/nx/v1/cache/11785424389410358069', { body: randomBytes(10) });
    expect(again.status).toBe(409);
    expect(again.headers['content-type']).toBe('text/plain');
    expect(again.text).toContain('never overwritten');
    expect((await call('GET', '/nx/v1/cache/11785424389410358069')).body.equals(bytes)).toBe(true);

    const missing = await call('GET', '/nx/v1/cache/42');
    expect(missing.status).toBe(404);
    expect(missing.headers['content-type']).toBe('text/plain');
    // Without a project in the URL, entries go to the default project.
    expect(await entry('nx', '11785424389410358069')).toBeDefined();
  });

  it('scopes entries by the project in the URL', async () => {
    const bytes = randomBytes(300);
    expect((await call('PUT', '/nx/mobile/v1/cache/777', { body: bytes })).status).toBe(200);
    expect((await call('GET', '/nx/mobile/v1/cache/777')).body.equals(bytes)).toBe(true);
    expect((await call('GET', '/nx/v1/cache/777')).status).toBe(404);
    expect((await call('GET', '/nx/Not_A_Project/v1/cache/777')).status).toBe(400);
  });

  it('lets one of several racing uploads of a hash win, and the others conflict', async () => {
    const bodies = [randomBytes(20_000), randomBytes(20_000), randomBytes(20_000)];
    const answers = await Promise.all(bodies.map((body) => call('PUT', '/nx/v1/cache/race', { body })));
    expect(answers.map((answer) => answer.status).sort()).toEqual([200, 409, 409]);
    const winner = bodies[answers.findIndex((answer) => answer.status === 200)]!;
    expect((await call('GET', '/nx/v1/cache/race')).body.equals(winner)).toBe(true);
    for (const loser of bodies.filter((body) => body !== winner)) expect(await exists(blobPath(loser))).toBe(false);
  });
});

describe('tokens and roles', () => {
  it('answers 401 without a valid token, in JSON for turbo and in plain text for Nx', async () => {
    const none = await call('GET', '/v8/artifacts/abc?slug=web', { token: null });
    expect(none.status).toBe(401);
    expect(JSON.parse(none.text).error.message).toContain('missing API token');
    expect((await call('PUT', '/v8/artifacts/abc?slug=web', { token: 'mae_not-a-real-token-at-all', body: randomBytes(10) })).status).toBe(401);
    const nx = await call('GET', '/nx/v1/cache/123', { token: 'mae_not-a-real-token-at-all' });
    expect(nx.status).toBe(401);
    // Nx calls anything but exactly text/plain on a 401 a misconfigured server.
    expect(nx.headers['content-type']).toBe('text/plain');
    expect(nx.text).toMatch(/^the API token is not valid \(unknown, revoked or expired\)/);
  });

  it('lets read-only tokens read but refuses their writes with 403, creating nothing', async () => {
    const bytes = randomBytes(100);
    expect((await call('PUT', '/v8/artifacts/for-laptops?slug=web', { token: tokens.ci, body: bytes })).status).toBe(202);
    for (const token of [tokens.reader, tokens.viewer]) {
      expect((await call('GET', '/v8/artifacts/for-laptops?slug=web', { token })).body.equals(bytes)).toBe(true);
      const turbo = await call('PUT', '/v8/artifacts/from-laptop?slug=laptop-only', { token, body: bytes });
      expect(turbo.status).toBe(403);
      expect(JSON.parse(turbo.text).error).toMatchObject({ code: 'permission_denied' });
      expect(JSON.parse(turbo.text).error.message).toMatch(/^cache:write is needed on project laptop-only; token "(laptop|observer)" has role (cache-reader|viewer) across the organisation$/);
      const nx = await call('PUT', '/nx/v1/cache/999', { token, body: bytes });
      expect(nx.status).toBe(403);
      expect(nx.headers['content-type']).toBe('text/plain');
      expect(nx.text).toMatch(/^cache:write is needed on project nx; token "(laptop|observer)" has role/);
    }
    expect(await maestro.store.projects.get('laptop-only')).toBeUndefined();
    expect((await call('GET', '/nx/v1/cache/999')).status).toBe(404);
  });
});

describe('bad input', () => {
  it('refuses unsafe hashes with 400 on both protocols', async () => {
    for (const hash of ['a$b', 'a%2Fb', '%2E%2E%2Fetc', 'a%20b']) {
      const turbo = await call('GET', `/v8/artifacts/${hash}?slug=web`);
      expect(turbo.status, hash).toBe(400);
      expect(JSON.parse(turbo.text).error.message).toContain('a cache hash is 1 to 100 letters, digits');
      expect((await call('PUT', `/nx/v1/cache/${hash}`, { body: randomBytes(10) })).status, hash).toBe(400);
    }
    expect((await call('PUT', `/v8/artifacts/${'x'.repeat(100)}?slug=web`, { body: randomBytes(10) })).status).toBe(202);
    // Past 100 characters the router itself refuses the path.
    expect((await call('GET', `/v8/artifacts/${'x'.repeat(101)}?slug=web`)).status).toBe(414);
    for (const hash of ['../../etc/passwd', 'x'.repeat(101)]) {
      const query = await call('POST', '/v8/artifacts?slug=web', {
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ hashes: ['ok', hash] }),
      });
      expect(query.status).toBe(400);
      expect(JSON.parse(query.text).error.message).toContain('is not a cache hash');
    }
  });

  it('says what to set when the namespace is missing or not a project name, and refuses a bad duration', async () => {
    const none = await call('PUT', '/v8/artifacts/abc', { body: randomBytes(10) });
    expect(none.status).toBe(400);
    expect(JSON.parse(none.text).error.message).toContain('set TURBO_TEAM');
    expect((await call('GET', '/v8/artifacts/abc?slug=Bad_Team')).status).toBe(400);
    const duration = await call('PUT', '/v8/artifacts/abc?slug=web', { body: randomBytes(10), headers: { 'x-artifact-duration': 'soon' } });
    expect(duration.status).toBe(400);
    expect(JSON.parse(duration.text).error.message).toContain('x-artifact-duration');
    expect((await call('PUT', '/v8/artifacts/empty?slug=web', { body: Buffer.alloc(0) })).status).toBe(400);
  });

  it('answers 413 past the size cap, from Content-Length or while streaming, and keeps nothing', async () => {
    const declared = await call('PUT', '/v8/artifacts/too-big?slug=web', { body: randomBytes(200 * 1024) });
    expect(declared.status).toBe(413);
    expect(JSON.parse(declared.text).error.message).toContain('larger than the 128.0 KiB this cache accepts');

    async function* streamed(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < 20; i += 1) yield randomBytes(16 * 1024);
    }
    const chunked = await call('PUT', '/nx/v1/cache/too-big', { body: Readable.from(streamed()) });
    expect(chunked.status).toBe(413);
    expect(chunked.headers['content-type']).toBe('text/plain');

    expect((await call('GET', '/v8/artifacts/too-big?slug=web')).status).toBe(404);
    expect((await call('GET', '/nx/v1/cache/too-big')).status).toBe(404);
    expect(await readdir(join(remoteCacheRoot(maestro.dataDir), 'tmp'))).toEqual([]);
  });

  it('stores nothing from an upload cut off before its Content-Length', async () => {
    const { port } = new URL(maestro.apiUrl);
    const socket = connect(Number(port), '127.0.0.1');
    await once(socket, 'connect');
    socket.write(
      `PUT /nx/v1/cache/cut-off HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer ${maestro.token}\r\n` +
        'content-type: application/octet-stream\r\ncontent-length: 50000\r\n\r\n',
    );
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
    socket.write(randomBytes(1000));
    socket.end();
    await once(socket, 'close');
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    // The server notices the hang-up on its own time; wait for the leftovers to go.
    const tmp = join(remoteCacheRoot(maestro.dataDir), 'tmp');
    // The server may still be opening its partial file when the 400 arrives: wait until the folder has stayed empty a while.
    let emptySince: number | undefined;
    for (let i = 0; i < 500; i += 1) {
      const empty = (await readdir(tmp)).length === 0;
      emptySince = empty ? (emptySince ?? Date.now()) : undefined;
      if (emptySince !== undefined && Date.now() - emptySince >= 300) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(await readdir(tmp)).toEqual([]);
    expect((await call('GET', '/nx/v1/cache/cut-off')).status).toBe(404);
    expect((await call('PUT', '/nx/v1/cache/cut-off', { body: randomBytes(10) })).status).toBe(200);
  });
});

describe('integrity and eviction', () => {
  it('treats a blob that fails its checksum as a miss and removes it, never serving it', async () => {
    const bytes = randomBytes(3000);
    expect((await call('PUT', '/v8/artifacts/damaged?slug=integrity', { body: bytes })).status).toBe(202);
    const path = blobPath(bytes);
    await chmod(path, 0o644);
    const tampered = Buffer.from(bytes);
    tampered[100] = tampered[100]! ^ 0xff;
    await writeFile(path, tampered);

    const get = await call('GET', '/v8/artifacts/damaged?slug=integrity');
    expect(get.status).toBe(404);
    expect(get.body.includes(tampered.subarray(0, 50))).toBe(false);
    expect(await entry('integrity', 'damaged')).toBeUndefined();
    expect(await exists(path)).toBe(false);
    // The next build uploads it again, and it serves.
    expect((await call('PUT', '/v8/artifacts/damaged?slug=integrity', { body: bytes })).status).toBe(202);
    expect((await call('GET', '/v8/artifacts/damaged?slug=integrity')).body.equals(bytes)).toBe(true);
  });

  it('treats a vanished blob as a miss and drops its entry', async () => {
    const bytes = randomBytes(500);
    expect((await call('PUT', '/nx/integrity/v1/cache/555', { body: bytes })).status).toBe(200);
    await rm(blobPath(bytes), { force: true });
    expect((await call('GET', '/nx/integrity/v1/cache/555')).status).toBe(404);
    expect(await entry('integrity', '555')).toBeUndefined();
    // Gone means Nx may store it again.
    expect((await call('PUT', '/nx/integrity/v1/cache/555', { body: bytes })).status).toBe(200);
  });

  it('evicts the least recently used entries when a write takes the project over its quota', async () => {
    const bodies = [1, 2, 3, 4].map(() => randomBytes(100 * 1024));
    for (const [index, body] of bodies.slice(0, 3).entries()) {
      expect((await call('PUT', `/v8/artifacts/q${index + 1}?slug=quota`, { body })).status).toBe(202);
    }
    // 300 KiB: exactly the quota. Reading q1 makes q2 the least recently used.
    expect((await call('GET', '/v8/artifacts/q1?slug=quota')).status).toBe(200);
    expect((await call('PUT', '/v8/artifacts/q4?slug=quota', { body: bodies[3]! })).status).toBe(202);

    const statuses = await Promise.all(['q1', 'q2', 'q3', 'q4'].map(async (hash) => (await call('HEAD', `/v8/artifacts/${hash}?slug=quota`)).status));
    expect(statuses).toEqual([200, 404, 200, 200]);
    expect(await exists(blobPath(bodies[1]!))).toBe(false);
    const project = await maestro.store.projects.get('quota');
    expect(await maestro.store.remoteCache.usage(project!.id)).toEqual({ entries: 3, bytes: 300 * 1024 });
    // Other projects were not touched.
    expect((await call('HEAD', '/v8/artifacts/7501e74b222309d7?slug=web')).status).toBe(200);
  });

  it('evictRemoteCache removes idle entries and their blobs, and brings the whole cache under maxBytes', async () => {
    const bytes = randomBytes(2000);
    expect((await call('PUT', '/v8/artifacts/idle?slug=evict', { body: bytes })).status).toBe(202);
    const before = await maestro.store.remoteCache.usage();

    const nothing = await evictRemoteCache({ store: maestro.store, dataDir: maestro.dataDir, maxAgeMs: 60_000 });
    expect(nothing.removedEntries).toBe(0);

    const capped = await evictRemoteCache({ store: maestro.store, dataDir: maestro.dataDir, maxBytes: before.bytes - 1 });
    expect(capped.removedEntries).toBeGreaterThan(0);
    expect((await maestro.store.remoteCache.usage()).bytes).toBeLessThanOrEqual(before.bytes - 1);
    // The newest entry stays: eviction takes the least recently used first.
    expect(await entry('evict', 'idle')).toBeDefined();

    const tomorrow = new Date(Date.now() + 86_400_000);
    const idle = await evictRemoteCache({ store: maestro.store, dataDir: maestro.dataDir, maxAgeMs: 3_600_000, now: tomorrow });
    expect(idle.removedEntries).toBe((await maestro.store.remoteCache.usage()).entries + idle.removedEntries);
    expect(await maestro.store.remoteCache.usage()).toEqual({ entries: 0, bytes: 0 });
    expect(await exists(blobPath(bytes))).toBe(false);
    expect((await call('GET', '/v8/artifacts/idle?slug=evict')).status).toBe(404);
  });
});
