/**
 * Keeps the data directory under a ceiling. Only the folders Maestro makes there, listed by name,
 * are measured: the walk never follows a link, never crosses into another file system, and never
 * goes outside them. Freeing space is left to evictors (the build cache, old artifacts), asked in
 * order, each deleting only what it made itself.
 */
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { errorMessage, MaestroError } from '../../common/index.js';
import { normalizeEntryPath, printable } from '../tree-paths.js';

export interface DiskEvictor {
  name: string;
  /** Frees at least `bytesToFree` when it can; returns the bytes it freed. */
  evict(bytesToFree: number): Promise<number>;
  /** The most it could free; asked before planning. Without it, an evictor is taken to have no limit. */
  evictableBytes?(): Promise<number>;
}

/** The folders of the data directory Maestro makes (see the control plane's data paths) plus the cache. */
export const MAESTRO_DATA_FOLDERS = ['agent', 'artifacts', 'cache', 'db', 'logs', 'revisions', 'router', 'sources', 'work'] as const;

export interface FolderUsage {
  folder: string;
  bytes: number;
}

export interface DataUsage {
  totalBytes: number;
  folders: FolderUsage[];
}

export interface EvictionRequest {
  /** Position of the evictor in the list given. */
  index: number;
  name: string;
  bytes: number;
}

export interface EvictionPlan {
  /** How far over the ceiling usage is (0 when under). */
  bytesToFree: number;
  requests: EvictionRequest[];
  /** What the evictors together cannot free. */
  shortfall: number;
}

/**
 * Who to ask for how much: each evictor in order is asked for what is still over the ceiling, up to
 * what it can free, so a later evictor (old artifacts) is asked only when the earlier ones (the
 * build cache) cannot cover it.
 */
export function planEviction(usedBytes: number, ceilingBytes: number, evictors: ReadonlyArray<{ name: string; evictableBytes: number }>): EvictionPlan {
  const bytesToFree = Math.max(0, usedBytes - ceilingBytes);
  let remaining = bytesToFree;
  const requests: EvictionRequest[] = [];
  evictors.forEach((evictor, index) => {
    if (remaining <= 0) return;
    const bytes = Math.min(remaining, Math.max(0, evictor.evictableBytes));
    if (bytes <= 0) return;
    requests.push({ index, name: evictor.name, bytes });
    remaining -= bytes;
  });
  return { bytesToFree, requests, shortfall: remaining };
}

export interface EvictionStep {
  name: string;
  requestedBytes: number;
  freedBytes: number;
  /** Set when the evictor failed; the others are still asked. */
  error?: string;
}

export interface DiskCeilingReport {
  ceilingBytes: number;
  before: DataUsage;
  after: DataUsage;
  steps: EvictionStep[];
  underCeiling: boolean;
}

export interface EnforceDiskCeilingInput {
  dataDir: string;
  ceilingBytes: number;
  evictors: readonly DiskEvictor[];
  /** Folder names under dataDir to measure; MAESTRO_DATA_FOLDERS when not given. */
  folders?: readonly string[];
}

export async function enforceDiskCeiling(input: EnforceDiskCeilingInput): Promise<DiskCeilingReport> {
  if (!Number.isSafeInteger(input.ceilingBytes) || input.ceilingBytes < 0) {
    throw new MaestroError('validation_error', `the disk ceiling must be a whole number of bytes of at least 0 (got ${String(input.ceilingBytes)}); write sizes like "20Gi"`);
  }
  const folders = input.folders ?? MAESTRO_DATA_FOLDERS;
  const before = await measureDataUsage(input.dataDir, folders);
  const steps: EvictionStep[] = [];
  let used = before.totalBytes;
  let pending = [...input.evictors];
  while (used > input.ceilingBytes && pending.length > 0) {
    const limits = await Promise.all(pending.map(async (evictor) => ({ name: evictor.name, evictableBytes: await evictableOf(evictor) })));
    const [request] = planEviction(used, input.ceilingBytes, limits).requests;
    if (request === undefined) break;
    const evictor = pending[request.index]!;
    // Evictors before the one asked have nothing to give; the one asked is asked once.
    pending = pending.slice(request.index + 1);
    let freed = 0;
    let error: string | undefined;
    try {
      freed = Math.max(0, await evictor.evict(request.bytes));
    } catch (failure) {
      error = errorMessage(failure);
    }
    steps.push({ name: evictor.name, requestedBytes: request.bytes, freedBytes: freed, ...(error === undefined ? {} : { error }) });
    used -= freed;
  }
  const after = steps.length === 0 ? before : await measureDataUsage(input.dataDir, folders);
  return { ceilingBytes: input.ceilingBytes, before, after, steps, underCeiling: after.totalBytes <= input.ceilingBytes };
}

async function evictableOf(evictor: DiskEvictor): Promise<number> {
  if (!evictor.evictableBytes) return Number.POSITIVE_INFINITY;
  try {
    return await evictor.evictableBytes();
  } catch {
    // Asking how much could be freed is only a hint; the eviction itself reports what happened.
    return Number.POSITIVE_INFINITY;
  }
}

/**
 * Bytes (apparent file sizes, hard links once) under each named folder of `dataDir`. A folder
 * that is missing counts 0; one that is a link is not followed.
 */
export async function measureDataUsage(dataDir: string, folders: readonly string[]): Promise<DataUsage> {
  const seen = new Set<string>();
  const usage: FolderUsage[] = [];
  for (const raw of [...new Set(folders)].sort()) {
    const folder = normalizeEntryPath(raw, 'data folder');
    if (folder === '') throw new MaestroError('validation_error', `data folder "${printable(raw)}" names the data directory itself; list the folders inside it`);
    const absolute = join(dataDir, folder);
    const stat = await lstat(absolute).catch(() => undefined);
    usage.push({ folder, bytes: stat?.isDirectory() ? await folderBytes(absolute, stat.dev, seen) : 0 });
  }
  return { totalBytes: usage.reduce((sum, entry) => sum + entry.bytes, 0), folders: usage };
}

async function folderBytes(folder: string, device: number, seen: Set<string>): Promise<number> {
  let total = 0;
  const names = await readdir(folder).catch(() => [] as string[]);
  for (const name of names) {
    const absolute = join(folder, name);
    // Things vanish while a build or eviction runs; they simply no longer count.
    const stat = await lstat(absolute).catch(() => undefined);
    if (!stat) continue;
    if (stat.isDirectory()) {
      if (stat.dev === device) total += await folderBytes(absolute, device, seen);
      continue;
    }
    const identity = `${stat.dev}:${stat.ino}`;
    if (stat.nlink > 1) {
      if (seen.has(identity)) continue;
      seen.add(identity);
    }
    total += stat.size;
  }
  return total;
}
