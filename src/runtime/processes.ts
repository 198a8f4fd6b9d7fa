import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** The fields of /proc/<pid>/stat the agent relies on. */
export interface ProcStat {
  pid: number;
  /** R, S, D, Z (zombie), X (dead), ... */
  state: string;
  ppid: number;
  pgrp: number;
  /** Clock ticks after boot at which the process started: with the pid, it names one process for good. */
  startTime: string;
}

/**
 * Parses a /proc/<pid>/stat line. The command name sits in parentheses and may itself contain spaces
 * and parentheses, so the remaining fields are counted from the last ')'.
 */
export function parseProcStat(text: string): ProcStat | undefined {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  const pid = Number(text.slice(0, open).trim());
  // fields[0] is field 3 of proc(5) (state); starttime is field 22.
  const fields = text.slice(close + 1).trim().split(/\s+/);
  const [state, ppid, pgrp] = fields;
  const startTime = fields[19];
  if (!Number.isInteger(pid) || pid <= 0 || !state || startTime === undefined || !/^\d+$/.test(startTime)) return undefined;
  return { pid, state, ppid: Number(ppid), pgrp: Number(pgrp), startTime };
}

const HAS_PROC = existsSync('/proc/self/stat');

export function readProcStat(pid: number): ProcStat | undefined {
  if (!HAS_PROC) return undefined;
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** The start time to record at spawn; undefined where there is no /proc (liveness then rests on the pid alone). */
export function processStartTime(pid: number): string | undefined {
  return readProcStat(pid)?.startTime;
}

function isZombie(stat: ProcStat): boolean {
  return stat.state === 'Z' || stat.state === 'X';
}

function answersSignalZero(target: number): boolean {
  try {
    process.kill(target, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether `pid` is still running and still the process recorded at spawn (a recycled pid has another
 * start time). Zombies count as dead: they have exited and only wait to be reaped.
 */
export function isSameProcessAlive(pid: number, startTime: string | undefined): boolean {
  if (!answersSignalZero(pid)) return false;
  if (!HAS_PROC) return true;
  const stat = readProcStat(pid);
  if (!stat || isZombie(stat)) return false;
  return startTime === undefined || stat.startTime === startTime;
}

/**
 * Whether any process of the group is still running. kill(-pgid, 0) also answers for zombies, which
 * may never be reaped when PID 1 does not reap orphans, so /proc is checked for live members.
 */
export function isGroupAlive(pgid: number): boolean {
  if (!answersSignalZero(-pgid)) return false;
  if (!HAS_PROC) return true;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readProcStat(Number(entry));
    if (stat && stat.pgrp === pgid && !isZombie(stat)) return true;
  }
  return false;
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // Already gone.
  }
}

/**
 * SIGKILL to what is left of a group whose leader exited (its children, if it had any). Only while no
 * live process holds the leader's pid: while the group has members that pid cannot be handed out again,
 * so a live holder means the group is long gone and the pid belongs to someone else.
 */
export function killGroupLeftovers(pgid: number): void {
  const leader = readProcStat(pgid);
  if (leader && !isZombie(leader)) return;
  if (isGroupAlive(pgid)) signalGroup(pgid, 'SIGKILL');
}

async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    if (condition()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(Math.min(50, Math.max(1, deadline - Date.now())));
  }
}

export type TerminationOutcome = 'already_gone' | 'terminated' | 'killed';

/**
 * SIGTERM to the whole process group (the app and whatever it spawned), up to `graceMs` to leave,
 * then SIGKILL to the group. `pgid` is the replica's pid: it was started as a session leader.
 */
export async function terminateGroup(pgid: number, startTime: string | undefined, graceMs: number): Promise<TerminationOutcome> {
  const leader = readProcStat(pgid);
  // The pid now names an unrelated process: our group is gone (a pid is not reused while its group lives).
  if (leader && !isZombie(leader) && startTime !== undefined && leader.startTime !== startTime) return 'already_gone';
  if (!isGroupAlive(pgid)) return 'already_gone';
  signalGroup(pgid, 'SIGTERM');
  if (await waitUntil(() => !isGroupAlive(pgid), graceMs)) return 'terminated';
  signalGroup(pgid, 'SIGKILL');
  await waitUntil(() => !isGroupAlive(pgid), 5000);
  return 'killed';
}
