import { link, mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { MaestroError } from '../common/index.js';

/**
 * PGlite runs Postgres inside this process and does nothing to stop a second process from opening
 * the same files, which would corrupt them. A lock file holding our pid guards the data directory;
 * it is stale, and taken over, when that pid is dead (a SIGKILLed control plane never removes it).
 *
 * The pid is paired with the process start time from /proc where there is one, so a recycled pid
 * (a container restarted with the same pid) is not mistaken for the old owner.
 */
export interface DataDirLock {
  release(): Promise<void>;
}

interface LockOwner {
  pid: number;
  started?: string;
}

/** Directories this process holds, to tell "in use by ourselves" from "our recycled pid". */
const heldHere = new Set<string>();

/** Acquisitions in this process, one at a time per lock file, so they cannot race each other. */
const acquiring = new Map<string, Promise<void>>();

export function acquireDataDirLock(lockPath: string, described: string): Promise<DataDirLock> {
  const previous = acquiring.get(lockPath) ?? Promise.resolve();
  const attempt = previous.then(() => acquire(lockPath, described));
  const settled = attempt.then(
    () => {},
    () => {},
  );
  acquiring.set(lockPath, settled);
  void settled.then(() => {
    if (acquiring.get(lockPath) === settled) acquiring.delete(lockPath);
  });
  return attempt;
}

async function acquire(lockPath: string, described: string): Promise<DataDirLock> {
  await mkdir(dirname(lockPath), { recursive: true });
  const me: LockOwner = { pid: process.pid, started: processStartTime(process.pid) };
  for (let attempt = 0; attempt < 50; attempt += 1) {
    if (await tryCreate(lockPath, me)) {
      heldHere.add(lockPath);
      return { release: () => release(lockPath, me) };
    }
    const owner = await readOwner(lockPath);
    if (owner === 'missing') continue;
    if (owner !== 'unreadable' && isAlive(owner, lockPath)) {
      const whose = owner.pid === process.pid ? 'this process' : `another Maestro (pid ${owner.pid})`;
      throw new MaestroError(
        'conflict',
        `the data directory ${described} is in use by ${whose}; stop it first, or give this one another data directory`,
        { lockFile: lockPath, pid: owner.pid },
      );
    }
    if (owner === 'unreadable' && (await isYoung(lockPath))) {
      // Probably a process between creating the file and writing its pid: give it a moment.
      await new Promise((resolve) => setTimeout(resolve, 50));
      continue;
    }
    await takeOverStale(lockPath);
  }
  throw new MaestroError('conflict', `could not take the lock ${lockPath} for the data directory ${described}; is another Maestro starting?`);
}

async function tryCreate(lockPath: string, me: LockOwner): Promise<boolean> {
  try {
    const handle = await open(lockPath, 'wx');
    try {
      await handle.writeFile(`${JSON.stringify(me)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

/**
 * Moves a stale lock aside with rename (atomic: of two processes taking over at once only one
 * succeeds). If what we moved turns out to be a fresh lock another process just took (a live owner,
 * or one still writing its pid), it is put back.
 */
async function takeOverStale(lockPath: string): Promise<void> {
  const aside = `${lockPath}.stale-${process.pid}-${Date.now()}`;
  try {
    await rename(lockPath, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  const moved = await readOwner(aside);
  const fresh = moved === 'unreadable' ? await isYoung(aside) : moved !== 'missing' && isAlive(moved, lockPath);
  if (fresh) {
    await link(aside, lockPath).catch(() => {});
  }
  await unlink(aside).catch(() => {});
}

async function readOwner(lockPath: string): Promise<LockOwner | 'missing' | 'unreadable'> {
  let text: string;
  try {
    text = await readFile(lockPath, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw error;
  }
  try {
    const parsed = JSON.parse(text) as Partial<LockOwner>;
    if (typeof parsed.pid !== 'number' || !Number.isInteger(parsed.pid) || parsed.pid <= 0) return 'unreadable';
    return { pid: parsed.pid, ...(typeof parsed.started === 'string' ? { started: parsed.started } : {}) };
  } catch {
    // A lock file cut short by a crash between create and write.
    return 'unreadable';
  }
}

async function isYoung(lockPath: string): Promise<boolean> {
  try {
    return Date.now() - (await stat(lockPath)).mtimeMs < 2000;
  } catch {
    return false;
  }
}

function isAlive(owner: LockOwner, lockPath: string): boolean {
  if (owner.pid === process.pid) return heldHere.has(lockPath);
  try {
    process.kill(owner.pid, 0);
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const started = processStartTime(owner.pid);
  return owner.started === undefined || started === undefined || started === owner.started;
}

async function release(lockPath: string, me: LockOwner): Promise<void> {
  heldHere.delete(lockPath);
  const owner = await readOwner(lockPath).catch(() => 'unreadable' as const);
  // Only remove the file when it is still ours.
  if (typeof owner === 'object' && owner.pid === me.pid && owner.started === me.started) {
    await unlink(lockPath).catch(() => {});
  }
}

/** Field 22 of /proc/<pid>/stat (start time in clock ticks since boot); undefined off Linux. */
function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses; count fields after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19];
  } catch {
    return undefined;
  }
}
