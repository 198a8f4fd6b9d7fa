import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/index.js';

const holder = fileURLToPath(new URL('./fixtures/hold-store.ts', import.meta.url));

describe('embedded store durability', () => {
  let dataDir: string;

  beforeAll(async () => {
    dataDir = resolve(await mkdtemp(join(tmpdir(), 'maestro-crash-')));
  });

  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('keeps what it acknowledged through a SIGKILL, and the next Maestro takes the directory over', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', holder, dataDir, 'acknowledged'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<void>((done) => child.once('exit', () => done()));
    try {
      await new Promise<void>((ready, fail) => {
        let stdout = '';
        child.stdout.on('data', (chunk: Buffer) => {
          stdout += chunk.toString();
          if (stdout.includes('ready')) ready();
        });
        child.once('exit', (code) => fail(new Error(`the store process exited with ${code} before it was ready:\n${stderr}`)));
      });

      // While it runs, nobody else may open the same files.
      await expect(openStore({ dataDir })).rejects.toThrow(
        `the data directory ${dataDir} is in use by another Maestro (pid ${child.pid})`,
      );
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
    // It had no chance to clean up.
    expect(existsSync(join(dataDir, 'db.lock'))).toBe(true);

    const store = await openStore({ dataDir });
    try {
      const project = await store.projects.get('acknowledged');
      expect(project).toBeDefined();
      expect(await store.settings.get('written-by')).toEqual({ pid: child.pid, projectId: project!.id });
      const after = await store.projects.create('after-the-crash');
      expect(await store.projects.get('after-the-crash')).toEqual(after);
    } finally {
      await store.close();
    }
    expect(existsSync(join(dataDir, 'db.lock'))).toBe(false);
    // Two cold PGlite starts and a tsx child: generous room for a busy machine.
  }, 90_000);

  it('refuses a second open in the same process and allows it after close', async () => {
    const store = await openStore({ dataDir });
    try {
      await expect(openStore({ dataDir })).rejects.toThrow(`the data directory ${dataDir} is in use by this process`);
    } finally {
      await store.close();
    }
    const again = await openStore({ dataDir });
    expect((await again.projects.list()).map((p) => p.name)).toEqual(['acknowledged', 'after-the-crash']);
    await again.close();
  });

  it('says which data directory it cannot use', async () => {
    const file = join(dataDir, 'not-a-directory');
    await writeFile(file, '');
    await expect(openStore({ dataDir: join(file, 'data') })).rejects.toThrow(`cannot use the data directory ${join(file, 'data')}`);
  });

  it('says clearly when a database URL is not a postgres:// URL, without echoing a password', async () => {
    await expect(openStore({ dataDir, databaseUrl: 'mysql://root:hunter2@db/maestro' })).rejects.toThrow(
      /must start with postgres:\/\/ \(got mysql:\/\/root:\*\*\*@db\/maestro\)/,
    );
  });

  it('names an unreachable server without its password', async () => {
    const error = await openStore({ dataDir, databaseUrl: 'postgres://maestro:hunter2@127.0.0.1:1/maestro' }).catch((e: Error) => e);
    expect(error).toMatchObject({ code: 'unavailable' });
    expect((error as Error).message).toContain('cannot connect to the database at postgres://maestro:***@127.0.0.1:1/maestro');
    expect((error as Error).message).not.toContain('hunter2');
  });
});
