import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acquireDataDirLock, type DataDirLock } from '../../src/store/data-dir-lock.js';

describe('data directory lock', () => {
  let dir: string;
  let lockPath: string;
  const held: DataDirLock[] = [];
  const children: ChildProcess[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'maestro-lock-'));
    lockPath = join(dir, 'db.lock');
  });

  afterEach(async () => {
    for (const lock of held.splice(0)) await lock.release();
    await rm(dir, { recursive: true, force: true });
  });

  afterAll(() => {
    for (const child of children) child.kill('SIGKILL');
  });

  async function acquire(): Promise<DataDirLock> {
    const lock = await acquireDataDirLock(lockPath, dir);
    held.push(lock);
    return lock;
  }

  /** A real process that is alive and is not us. */
  async function otherProcess(): Promise<ChildProcess & { pid: number }> {
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 60000)'], { stdio: 'ignore' });
    children.push(child);
    await new Promise((resolve) => child.once('spawn', resolve));
    return child as ChildProcess & { pid: number };
  }

  it('writes our pid, refuses a second holder in this process, and frees the directory on release', async () => {
    const lock = await acquire();
    expect(JSON.parse(await readFile(lockPath, 'utf8'))).toMatchObject({ pid: process.pid });
    await expect(acquireDataDirLock(lockPath, dir)).rejects.toThrow(`the data directory ${dir} is in use by this process`);
    await lock.release();
    held.pop();
    await acquire();
  });

  it('refuses while another live process holds it, and takes it over once that process is dead', async () => {
    const other = await otherProcess();
    await writeFile(lockPath, JSON.stringify({ pid: other.pid }));
    const error = await acquireDataDirLock(lockPath, dir).catch((e: unknown) => e as Error);
    expect(error).toMatchObject({ code: 'conflict', message: expect.stringContaining(`is in use by another Maestro (pid ${other.pid})`) });

    other.kill('SIGKILL');
    await new Promise((resolve) => other.once('exit', resolve));
    await acquire();
    expect(JSON.parse(await readFile(lockPath, 'utf8')).pid).toBe(process.pid);
  });

  it('treats a live pid with another start time as recycled, hence stale', async () => {
    const other = await otherProcess();
    await writeFile(lockPath, JSON.stringify({ pid: other.pid, started: '1' }));
    await acquire();
  });

  it('treats our own pid in a lock we do not hold as stale (a restarted container reuses pids)', async () => {
    await writeFile(lockPath, JSON.stringify({ pid: process.pid, started: 'before-restart' }));
    await acquire();
  });

  it('takes over a lock file cut short by a crash, once it is not fresh', async () => {
    await writeFile(lockPath, '');
    const old = new Date(Date.now() - 60_000);
    await utimes(lockPath, old, old);
    await acquire();
  });

  it('gives a stale lock to exactly one of several racing openers', async () => {
    await writeFile(lockPath, JSON.stringify({ pid: 2 ** 22 + 12345 }));
    const outcomes = await Promise.allSettled(Array.from({ length: 6 }, () => acquireDataDirLock(lockPath, dir)));
    const winners = outcomes.filter((o): o is PromiseFulfilledResult<DataDirLock> => o.status === 'fulfilled');
    held.push(...winners.map((w) => w.value));
    expect(winners).toHaveLength(1);
    for (const loser of outcomes.filter((o) => o.status === 'rejected')) {
      expect(String((loser as PromiseRejectedResult).reason)).toContain('is in use by this process');
    }
  });
});
