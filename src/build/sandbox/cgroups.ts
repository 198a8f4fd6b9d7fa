/**
 * A step's own cgroups: a memory limit the kernel enforces and a small CPU share, so a build gives
 * way to the apps serving traffic. cgroup v1 (one folder per controller) and v2 (one unified
 * folder) are both handled; when neither is writable the step runs without them and says so.
 */
import { availableParallelism } from 'node:os';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export interface StepCgroupRequest {
  memoryBytes?: number;
  /** In cgroup v1 units: 1024 is a normal process's share. */
  cpuShares?: number;
}

export interface StepCgroups {
  /** The `cgroup.procs` files the step must join. */
  procsFiles: string[];
  /** Whether the memory limit is in force. */
  memoryLimited: boolean;
  /** Whether the kernel killed something in the step for going over its memory limit. */
  outOfMemory(): Promise<boolean>;
  /** Kills whatever is left in the step's cgroups and removes them. */
  remove(): Promise<void>;
}

export interface OpenedCgroups {
  cgroups?: StepCgroups;
  /** Lines for the step log about limits that could not be put in force. */
  notes: string[];
}

export const DEFAULT_CGROUP_ROOT = '/sys/fs/cgroup';
const PARENT = 'maestro';
const REMOVE_ATTEMPTS = 20;
const REMOVE_PAUSE_MS = 50;

export async function openStepCgroups(request: StepCgroupRequest, root: string = DEFAULT_CGROUP_ROOT): Promise<OpenedCgroups> {
  if (request.memoryBytes === undefined && request.cpuShares === undefined) return { notes: [] };
  const id = `build-${randomBytes(6).toString('hex')}`;
  if (existsSync(join(root, 'cgroup.controllers'))) return openUnified(request, root, id);
  return openPerController(request, root, id);
}

async function openPerController(request: StepCgroupRequest, root: string, id: string): Promise<OpenedCgroups> {
  const notes: string[] = [];
  let memoryDir: string | undefined;
  if (request.memoryBytes !== undefined) {
    const dir = join(root, 'memory', PARENT, id);
    try {
      await makeGroup(dir);
      memoryDir = dir;
      await writeFile(join(dir, 'memory.limit_in_bytes'), String(request.memoryBytes));
      // Without this the step could spill into swap instead of being stopped; not every kernel accounts swap.
      await writeFile(join(dir, 'memory.memsw.limit_in_bytes'), String(request.memoryBytes)).catch(() => undefined);
    } catch (error) {
      notes.push(notEnforced(error));
      if (memoryDir) await removeGroup(memoryDir);
      memoryDir = undefined;
    }
  }
  let cpuDir: string | undefined;
  if (request.cpuShares !== undefined) {
    const parent = join(root, 'cpu', PARENT);
    const dir = join(parent, id);
    try {
      await makeGroup(dir);
      cpuDir = dir;
      // The parent is what all builds together are against everything else: idle where the kernel has it,
      // a small share where not; the step's own share only counts among builds.
      await yieldToEverythingElse(parent, 'cpu.shares', String(request.cpuShares));
      await writeFile(join(dir, 'cpu.shares'), String(request.cpuShares));
      // Shares only weigh when both sides want the CPU; a hard cap on all builds together keeps part of a core
      // for serving apps even in the moments the scheduler would hand builds everything.
      await writeFile(join(parent, 'cpu.cfs_period_us'), String(CPU_PERIOD_US)).catch(() => undefined);
      await writeFile(join(parent, 'cpu.cfs_quota_us'), String(buildsCpuQuotaUs())).catch(() => undefined);
    } catch {
      // Without a CPU share the nice value still lowers the build's priority.
      if (cpuDir) await removeGroup(cpuDir);
      cpuDir = undefined;
    }
  }
  const cpusetDir = request.cpuShares !== undefined ? await openCpuset(root, id) : undefined;
  const used = [memoryDir, cpuDir, cpusetDir].filter((dir): dir is string => dir !== undefined);
  if (used.length === 0) return { notes };
  return {
    notes,
    cgroups: {
      procsFiles: used.map((dir) => join(dir, 'cgroup.procs')),
      memoryLimited: memoryDir !== undefined,
      outOfMemory: async () => {
        if (!memoryDir) return false;
        const kills = oomKillCount(await readFile(join(memoryDir, 'memory.oom_control'), 'utf8').catch(() => ''));
        if (kills !== undefined) return kills > 0;
        // Older kernels do not count kills; hitting the limit is the next best sign.
        return Number((await readFile(join(memoryDir, 'memory.failcnt'), 'utf8').catch(() => '0')).trim()) > 0;
      },
      remove: async () => {
        await Promise.all(used.map(removeGroup));
      },
    },
  };
}

async function openUnified(request: StepCgroupRequest, root: string, id: string): Promise<OpenedCgroups> {
  const notes: string[] = [];
  const parent = join(root, PARENT);
  const dir = join(parent, id);
  try {
    await makeGroup(dir);
  } catch (error) {
    if (request.memoryBytes !== undefined) notes.push(notEnforced(error));
    return { notes };
  }
  // Controllers must be handed down level by level; each may be refused on its own.
  for (const level of [root, parent]) {
    for (const controller of ['memory', 'cpu']) {
      await writeFile(join(level, 'cgroup.subtree_control'), `+${controller}`).catch(() => undefined);
    }
  }
  let memoryLimited = false;
  if (request.memoryBytes !== undefined) {
    try {
      await writeFile(join(dir, 'memory.max'), String(request.memoryBytes));
      await writeFile(join(dir, 'memory.swap.max'), '0').catch(() => undefined);
      memoryLimited = true;
    } catch (error) {
      notes.push(notEnforced(error));
    }
  }
  let cpuWeighted = false;
  if (request.cpuShares !== undefined) {
    const weight = String(cpuWeightFromShares(request.cpuShares));
    cpuWeighted = await yieldToEverythingElse(parent, 'cpu.weight', weight)
      .then(() => writeFile(join(dir, 'cpu.weight'), weight))
      .then(() => writeFile(join(parent, 'cpu.max'), `${buildsCpuQuotaUs()} ${CPU_PERIOD_US}`).catch(() => undefined))
      .then(
        () => true,
        () => false,
      );
  }
  if (!memoryLimited && !cpuWeighted) {
    await removeGroup(dir);
    return { notes };
  }
  return {
    notes,
    cgroups: {
      procsFiles: [join(dir, 'cgroup.procs')],
      memoryLimited,
      outOfMemory: async () => memoryLimited && (oomKillCount(await readFile(join(dir, 'memory.events'), 'utf8').catch(() => '')) ?? 0) > 0,
      remove: () => removeGroup(dir),
    },
  };
}

/**
 * Makes the group of all builds an idle one (`cpu.idle`, Linux 5.15+, v1 and v2): a serving process that
 * wakes up on a core a build is using takes it at once, where a mere small share (or nice value) lets
 * the build finish its time slice first, a millisecond or more on every request's path. The kernel
 * refuses a share on an idle group, so the share is the fallback where there is no `cpu.idle`.
 */
async function yieldToEverythingElse(parent: string, shareFile: string, share: string): Promise<void> {
  const idle = await writeFile(join(parent, 'cpu.idle'), '1').then(
    () => true,
    () => false,
  );
  if (!idle) await writeFile(join(parent, shareFile), share);
}

const CPU_PERIOD_US = 100_000;
/** CPU left to serving apps however busy builds are. */
const RESERVED_CORES = 0.5;

/** All builds together may use every core but half of one (at least half a core on a one-core machine). */
export function buildsCpuQuotaUs(cores = availableParallelism()): number {
  return Math.round(Math.max(0.5, cores - RESERVED_CORES) * CPU_PERIOD_US);
}

/**
 * On a machine with more than one core, builds run on every core but the first, so serving apps and the
 * router always have one the scheduler never hands to a build (v1 cpuset; skipped where not writable).
 */
async function openCpuset(root: string, id: string): Promise<string | undefined> {
  const cores = availableParallelism();
  if (cores < 2) return undefined;
  const parent = join(root, 'cpuset', PARENT);
  const dir = join(parent, id);
  try {
    const mems = (await readFile(join(root, 'cpuset', 'cpuset.mems'), 'utf8')).trim();
    const cpus = `1-${cores - 1}`;
    await makeGroup(dir);
    // v1 cpusets start empty: the parent, then the child, must be given cpus and memory nodes.
    for (const level of [parent, dir]) {
      await writeFile(join(level, 'cpuset.cpus'), cpus);
      await writeFile(join(level, 'cpuset.mems'), mems);
    }
    return dir;
  } catch {
    await removeGroup(dir).catch(() => undefined);
    return undefined;
  }
}

/** The `oom_kill N` counter of memory.oom_control (v1) or memory.events (v2); undefined when the kernel has none. */
export function oomKillCount(text: string): number | undefined {
  const match = /^oom_kill (\d+)$/m.exec(text);
  return match ? Number(match[1]) : undefined;
}

/** cgroup v2 cpu.weight (1..10000, normal 100) for a v1 cpu.shares value (normal 1024). */
export function cpuWeightFromShares(shares: number): number {
  return Math.min(10_000, Math.max(1, Math.round((shares * 100) / 1024)));
}

/** Creates `<controller root>/maestro/<id>`; never the controller root itself, which the kernel mounts. */
async function makeGroup(dir: string): Promise<void> {
  await mkdir(dirname(dir)).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error;
  });
  await mkdir(dir);
}

function notEnforced(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code ?? 'error';
  const path = (error as NodeJS.ErrnoException).path ?? '';
  return `warning: memory limit not enforced: cgroups are not writable (${code}${path ? ` on ${path}` : ''})`;
}

/** A cgroup can only be removed once empty: kill what is left (a daemon the step started), then retry. */
async function removeGroup(dir: string): Promise<void> {
  // cgroup v2 (Linux 5.14+) kills the whole group at once.
  if (existsSync(join(dir, 'cgroup.kill'))) await writeFile(join(dir, 'cgroup.kill'), '1').catch(() => undefined);
  for (let attempt = 0; attempt < REMOVE_ATTEMPTS; attempt += 1) {
    const pids = (await readFile(join(dir, 'cgroup.procs'), 'utf8').catch(() => ''))
      .split('\n')
      .map(Number)
      .filter((pid) => pid > 0);
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    try {
      await rmdir(dir);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      await new Promise((resolve) => setTimeout(resolve, REMOVE_PAUSE_MS));
    }
  }
}
