/**
 * SQL injection, path traversal and plain garbage in every string a route takes (path parameters,
 * query parameters, body fields, raw bodies), sent by a person who holds every permission: the answer
 * is a normal one or a 4xx with the error shape, never a 5xx, and nothing outside the data directory is
 * read or written.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import fc from 'fast-check';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeclaredRoute } from '../../src/api/auth.js';
import { CSRF_HEADER, hashPassword } from '../../src/identity/index.js';
import { DEFAULT_ORGANISATION_ID } from '../../src/store/index.js';
import { startApiHarness, type ApiHarness } from './harness.js';

const SECRET = `sentinel-${randomBytes(12).toString('hex')}`;
/** Names a traversal might write under: never the secret itself, which answers may rightly echo when it is a parameter. */
const WRITTEN = `written-${randomBytes(6).toString('hex')}`;

function nastyStrings(outside: string, dataDir: string): string[] {
  const sentinel = join(outside, 'secret.txt');
  const fromRoot = relative('/', sentinel);
  return [
    "' OR '1'='1",
    "'; DROP TABLE projects; --",
    '" OR 1=1 --',
    "shop'); DELETE FROM tokens; --",
    '1; SELECT pg_sleep(5)',
    "$$; DROP TABLE users; $$",
    '%',
    '_',
    '\\',
    '../../../../../../etc/passwd',
    '..%2F..%2F..%2Fetc%2Fpasswd',
    '....//....//....//etc/passwd',
    '..\\..\\..\\windows\\win.ini',
    '/etc/passwd',
    sentinel,
    relative(dataDir, sentinel),
    `${'../'.repeat(12)}${fromRoot}`,
    `x/${'../'.repeat(12)}${fromRoot}`,
    `../outside/${WRITTEN}`,
    `../${WRITTEN}`,
    `${'../'.repeat(3)}${WRITTEN}`,
    '\u0000',
    'a\u0000b',
    '%00',
    '\r\nx-injected: 1',
    '<script>alert(1)</script>',
    '${jndi:ldap://example.com/a}',
    '',
    ' ',
    'A'.repeat(5000),
    '😀\u202e\ufeff',
    '\ud800',
  ];
}

/** The string parameters a route takes, from its zod schemas. */
function keysOf(schema: unknown): string[] {
  const shape = (schema as { shape?: Record<string, unknown> } | undefined)?.shape;
  return shape && typeof shape === 'object' ? Object.keys(shape) : [];
}

/** What a client can put in a URL: the UTF-8 of the text (a lone surrogate has none, so it becomes U+FFFD). */
const encode = (text: string): string => encodeURIComponent(Buffer.from(text, 'utf8').toString('utf8'));

function requestFor(route: DeclaredRoute, value: (slot: string) => string): InjectOptions & { url: string } {
  const schema = (route.schema ?? {}) as { querystring?: unknown; body?: unknown };
  const url = route.url.replace(/:([A-Za-z]+)/g, (_, name: string) => encode(value(`param ${name}`))).replace('*', encode(value('wildcard')));
  const query = keysOf(schema.querystring)
    .map((key) => `${key}=${encode(value(`query ${key}`))}`)
    .join('&');
  const method = route.method as InjectOptions['method'];
  const full = query ? `${url}?${query}` : url;
  if (route.method === 'GET' || route.method === 'HEAD') return { method, url: full };
  const fields = keysOf(schema.body);
  if (fields.length > 0) return { method, url: full, payload: Object.fromEntries(fields.map((key) => [key, value(`body ${key}`)])) };
  return { method, url: full, payload: Buffer.from(value('raw body'), 'utf8'), headers: { 'content-type': 'application/octet-stream' } };
}

async function listing(dir: string): Promise<string[]> {
  const entries: string[] = [];
  for (const entry of await readdir(dir, { recursive: true })) {
    const info = await stat(join(dir, entry));
    entries.push(`${entry} ${info.size} ${info.mtimeMs}`);
  }
  return entries.sort();
}

describe('bad input on every route', () => {
  let harness: ApiHarness;
  let parent: string;
  let outside: string;
  let session: { cookie: string; csrf: string };
  let nasty: string[];
  let before: string[];

  beforeAll(async () => {
    // The data directory and a folder beside it that nothing may touch.
    parent = await mkdtemp(join(tmpdir(), 'maestro-bad-input-'));
    outside = join(parent, 'outside');
    await mkdir(outside);
    await writeFile(join(outside, 'secret.txt'), SECRET);
    harness = await startApiHarness({ dataDir: join(parent, 'data') });
    nasty = nastyStrings(outside, harness.maestro.dataDir);
    before = await listing(outside);

    const { store } = harness.maestro;
    await store.projects.ensure('shop');
    const owner = await store.users.create({ email: 'fuzz-owner@example.com', passwordHash: await hashPassword('a passphrase for fuzzing') });
    await store.memberships.set({ userId: owner.id, organisationId: DEFAULT_ORGANISATION_ID, role: 'owner' });
    const login = await harness.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: owner.email, password: 'a passphrase for fuzzing' } });
    expect(login.statusCode).toBe(200);
    session = { cookie: login.cookies.find((cookie) => cookie.name === 'maestro_session')!.value, csrf: login.json().csrfToken };
  }, 60_000);

  afterAll(async () => {
    await harness?.close();
    await rm(parent, { recursive: true, force: true });
  });

  async function send(request: InjectOptions & { url: string }): Promise<string | undefined> {
    const answer = await harness.inject({
      ...request,
      cookies: { maestro_session: session.cookie },
      headers: { ...(request.headers as Record<string, string> | undefined), [CSRF_HEADER]: session.csrf },
    });
    const where = `${request.method} ${request.url.slice(0, 200)}`;
    if (answer.statusCode >= 500) return `${where}: ${answer.statusCode} ${answer.body.slice(0, 300)}`;
    if (answer.body.includes(SECRET)) return `${where}: the answer holds the file outside the data directory`;
    const type = String(answer.headers['content-type'] ?? '');
    if (answer.statusCode >= 400 && type.includes('json') && request.method !== 'HEAD') {
      const body = answer.json() as { error?: { code?: unknown; message?: unknown } };
      if (typeof body.error?.code !== 'string' || typeof body.error.message !== 'string') return `${where}: ${answer.statusCode} without the error shape: ${answer.body.slice(0, 200)}`;
    }
    return undefined;
  }

  it('answers every nasty string in every parameter without failing or leaving the data directory', async () => {
    const problems: string[] = [];
    for (const route of harness.routes) {
      for (const text of nasty) {
        const problem = await send(requestFor(route, () => text));
        if (problem) problems.push(problem);
      }
    }
    expect(problems).toEqual([]);
  }, 300_000);

  it('answers arbitrary strings in each parameter the same way', async () => {
    const text = fc.oneof(fc.constantFrom(...nasty), fc.string({ maxLength: 80 }), fc.string({ unit: 'binary', maxLength: 80 }));
    for (const route of harness.routes) {
      const slots: string[] = [];
      requestFor(route, (slot) => {
        slots.push(slot);
        return '';
      });
      // Each slot its own value: one valid-looking parameter must not shield a broken one.
      const values = fc.record(Object.fromEntries(slots.map((slot) => [slot, text])) as Record<string, fc.Arbitrary<string>>);
      await fc.assert(
        fc.asyncProperty(values, async (chosen) => {
          expect(await send(requestFor(route, (slot) => chosen[slot] ?? ''))).toBeUndefined();
        }),
        { numRuns: 8 },
      );
    }
  }, 300_000);

  it('left the folder beside the data directory as it was, and wrote nothing next to it', async () => {
    expect(await listing(outside)).toEqual(before);
    expect((await readdir(parent)).sort()).toEqual(['data', 'outside']);
  });
});
