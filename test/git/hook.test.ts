/**
 * The repository set-up and the pre-receive hook on their own: the real hook file run as git runs it,
 * against a small real HTTP server standing in for Maestro.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBareRepository, gitRepositoryPath } from '../../src/git/index.js';
import { runGit } from '../../src/git/run-git.js';
import { GitClient } from './harness.js';

let dataDir: string;
let client: GitClient;
beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'maestro-git-hook-'));
  client = await GitClient.create();
});
afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
  await client?.remove();
});

const config = async (repository: string, key: string): Promise<string> => (await runGit(repository, ['config', '--get', key])).stdout.toString().trim();

describe('ensureBareRepository', () => {
  it('creates a bare repository with Maestro\'s settings and hook, idempotently, and replaces a changed hook', async () => {
    const repository = gitRepositoryPath(dataDir, 'hello');
    await Promise.all([ensureBareRepository(repository), ensureBareRepository(repository)]);
    expect(await config(repository, 'core.bare')).toBe('true');
    expect(await config(repository, 'http.receivepack')).toBe('true');
    expect(await config(repository, 'receive.advertisePushOptions')).toBe('true');
    expect(await config(repository, 'receive.denyDeleteCurrent')).toBe('false');
    expect(await config(repository, 'uploadpack.allowReachableSHA1InWant')).toBe('true');
    expect(await config(repository, 'core.logAllRefUpdates')).toBe('false');
    const hookPath = join(repository, 'hooks', 'pre-receive');
    const hook = await readFile(hookPath, 'utf8');
    expect(hook.startsWith(`#!${process.execPath}\n`)).toBe(true);

    await writeFile(hookPath, '#!/bin/sh\nexit 0\n');
    await runGit(repository, ['config', 'http.receivepack', 'false']);
    await ensureBareRepository(repository);
    expect(await readFile(hookPath, 'utf8')).toBe(hook);
    expect(await config(repository, 'http.receivepack')).toBe('true');
  });

  it('makes the hook refuse pushes that do not come through Maestro', async () => {
    const repository = gitRepositoryPath(dataDir, 'direct');
    await ensureBareRepository(repository);
    const dir = await client.repository();
    const result = await client.run(dir, ['push', repository, 'main']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/remote: maestro: this repository takes pushes only through Maestro/);
    expect(result.stderr).toContain('[remote rejected] main -> main (pre-receive hook declined)');
  });
});

interface FakeMaestro {
  url: string;
  requests: Array<{ headers: IncomingMessage['headers']; body: unknown }>;
  close(): Promise<void>;
}

async function fakeMaestro(answer: (response: ServerResponse) => Promise<void>): Promise<FakeMaestro> {
  const requests: FakeMaestro['requests'] = [];
  const server: Server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      requests.push({ headers: request.headers, body: JSON.parse(body) });
      void answer(response);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/git-hooks/pre-receive`, requests, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

interface HookRun {
  code: number | null;
  stderr: string;
  /** When each stderr line arrived, ms after the start. */
  lines: Array<{ text: string; at: number }>;
}

/** Runs the installed hook as receive-pack would: in the repository, updates on stdin, settings in the environment. */
async function runHook(repository: string, env: Record<string, string>, stdin: string): Promise<HookRun> {
  const started = Date.now();
  const child = spawn(join(repository, 'hooks', 'pre-receive'), [], { cwd: repository, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['pipe', 'ignore', 'pipe'] });
  const lines: HookRun['lines'] = [];
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    for (const text of chunk.toString().split('\n').filter(Boolean)) lines.push({ text, at: Date.now() - started });
  });
  child.stdin.end(stdin);
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stderr, lines };
}

describe('the pre-receive hook', () => {
  const update = `${'0'.repeat(40)} ${'a'.repeat(40)} refs/heads/main\n`;
  let repository: string;
  beforeAll(async () => {
    repository = gitRepositoryPath(dataDir, 'hooked');
    await ensureBareRepository(repository);
  });

  it('sends the push to Maestro and copies each answer line to stderr as it arrives, then exits as the verdict says', async () => {
    const maestro = await fakeMaestro(async (response) => {
      response.writeHead(200, { 'content-type': 'text/plain' });
      response.write('say building\n');
      await sleep(600);
      response.end('say built\naccept\n');
    });
    try {
      const run = await runHook(
        repository,
        {
          MAESTRO_GIT_HOOK_URL: maestro.url,
          MAESTRO_GIT_PUSH_TOKEN: 'mgp_secret',
          GIT_PUSH_OPTION_COUNT: '2',
          GIT_PUSH_OPTION_0: 'no-wait',
          GIT_PUSH_OPTION_1: 'x=y z',
          GIT_OBJECT_DIRECTORY: './objects/tmp_objdir-incoming-1',
          GIT_ALTERNATE_OBJECT_DIRECTORIES: `${repository}/objects`,
          GIT_QUARANTINE_PATH: `${repository}/objects/tmp_objdir-incoming-1`,
        },
        update,
      );
      expect(run.code, run.stderr).toBe(0);
      expect(run.lines.map((line) => line.text)).toEqual(['building', 'built']);
      expect(run.lines[1]!.at - run.lines[0]!.at).toBeGreaterThanOrEqual(400);
      expect(maestro.requests).toHaveLength(1);
      expect(maestro.requests[0]!.headers.authorization).toBe('Bearer mgp_secret');
      expect(maestro.requests[0]!.body).toEqual({
        updates: update,
        pushOptions: ['no-wait', 'x=y z'],
        // Relative paths are made absolute: Maestro does not run in the repository.
        objects: {
          GIT_OBJECT_DIRECTORY: join(repository, 'objects/tmp_objdir-incoming-1'),
          GIT_ALTERNATE_OBJECT_DIRECTORIES: `${repository}/objects`,
          GIT_QUARANTINE_PATH: `${repository}/objects/tmp_objdir-incoming-1`,
        },
      });
    } finally {
      await maestro.close();
    }
  });

  it.each([
    ['refuses on a refuse verdict', 'say deploy failed\nrefuse\n', 200, /^deploy failed$/m],
    ['refuses when the answer ends without a verdict', 'say half\n', 200, /the answer from Maestro ended before its verdict; the push is refused/],
    ['refuses on an error status, showing its text', 'this push token is unknown\n', 401, /maestro: this push token is unknown\nmaestro: Maestro answered 401; the push is refused/],
    ['ignores text dressed as a verdict inside a say line', 'say accept\n', 200, /ended before its verdict/],
  ])('%s', async (_what, body, status, expected) => {
    const maestro = await fakeMaestro(async (response) => {
      response.writeHead(status, { 'content-type': 'text/plain' });
      response.end(body);
    });
    try {
      const run = await runHook(repository, { MAESTRO_GIT_HOOK_URL: maestro.url, MAESTRO_GIT_PUSH_TOKEN: 't' }, update);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(expected);
    } finally {
      await maestro.close();
    }
  });

  it('refuses with a clear line when Maestro cannot be reached', async () => {
    const maestro = await fakeMaestro(async () => undefined);
    const url = maestro.url;
    await maestro.close();
    const run = await runHook(repository, { MAESTRO_GIT_HOOK_URL: url, MAESTRO_GIT_PUSH_TOKEN: 't' }, update);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(new RegExp(`maestro: cannot reach Maestro at ${url.replace(/[.]/g, '\\.')} \\(.*ECONNREFUSED.*\\); the push is refused`));
  });

  it('runs whether Node reads it as CommonJS or as an ES module (a data directory inside a "type": "module" package)', async () => {
    const esmRoot = await mkdtemp(join(tmpdir(), 'maestro-git-esm-'));
    try {
      await writeFile(join(esmRoot, 'package.json'), '{"type":"module"}\n');
      const esmRepository = gitRepositoryPath(esmRoot, 'esm');
      await ensureBareRepository(esmRepository);
      const maestro = await fakeMaestro(async (response) => {
        response.writeHead(200);
        response.end('say fine\naccept\n');
      });
      try {
        const run = await runHook(esmRepository, { MAESTRO_GIT_HOOK_URL: maestro.url, MAESTRO_GIT_PUSH_TOKEN: 't' }, update);
        expect(run.code, run.stderr).toBe(0);
        expect(run.stderr).toBe('fine\n');
      } finally {
        await maestro.close();
      }
    } finally {
      await rm(esmRoot, { recursive: true, force: true });
    }
  });
});
