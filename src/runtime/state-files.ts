import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { replicaSpecSchema } from './spec.js';
import type { ReplicaSpec } from './types.js';

/**
 * One file per replica, `<stateDir>/<id>.json`: everything a later agent needs to adopt or restart the
 * replica after the control plane died. The env is stored because a restart needs it, so the state
 * directory must be private to Maestro (files are written with mode 0600).
 */
export interface ReplicaRecord {
  version: 1;
  spec: ReplicaSpec;
  port: number;
  /** The process (and process group) id; absent while waiting to restart or after a crash loop. */
  pid?: number;
  /** /proc start time of `pid`, to tell it apart from a later process given the same pid. */
  processStartTime?: string;
  restarts: number;
  /** When the current process started (ISO 8601). */
  startedAt: string;
  /** running: keep it up; stopping: a stop was under way; crashed: restarts were given up. */
  phase: 'running' | 'stopping' | 'crashed';
}

const recordSchema = z.object({
  version: z.literal(1),
  spec: replicaSpecSchema,
  port: z.number().int().min(1).max(65535),
  pid: z.number().int().positive().optional(),
  processStartTime: z.string().optional(),
  restarts: z.number().int().min(0),
  startedAt: z.string(),
  phase: z.enum(['running', 'stopping', 'crashed']),
});

export function recordPath(stateDir: string, id: string): string {
  return join(stateDir, `${id}.json`);
}

/** Written to a temporary file and renamed over the old one, so a reader never sees half a record. */
export function writeRecord(stateDir: string, record: ReplicaRecord): void {
  mkdirSync(stateDir, { recursive: true });
  const target = recordPath(stateDir, record.spec.id);
  const temporary = `${target}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
  renameSync(temporary, target);
}

export function removeRecord(stateDir: string, id: string): void {
  rmSync(recordPath(stateDir, id), { force: true });
}

export function readRecord(stateDir: string, id: string): ReplicaRecord | undefined {
  try {
    return parseRecord(readFileSync(recordPath(stateDir, id), 'utf8'));
  } catch {
    return undefined;
  }
}

export function parseRecord(text: string): ReplicaRecord {
  return recordSchema.parse(JSON.parse(text)) as ReplicaRecord;
}

export interface RecordScan {
  records: ReplicaRecord[];
  unreadable: { file: string; reason: string }[];
}

export function readRecords(stateDir: string): RecordScan {
  const scan: RecordScan = { records: [], unreadable: [] };
  let entries: string[];
  try {
    entries = readdirSync(stateDir);
  } catch {
    return scan;
  }
  for (const entry of entries.sort()) {
    if (!entry.endsWith('.json')) continue;
    const file = join(stateDir, entry);
    try {
      const record = parseRecord(readFileSync(file, 'utf8'));
      if (`${record.spec.id}.json` !== entry) throw new Error(`it describes replica ${record.spec.id}`);
      scan.records.push(record);
    } catch (error) {
      // Parser messages quote the text, which may hold env values: keep them out of the reason.
      const reason =
        error instanceof SyntaxError ? 'not valid JSON' : error instanceof z.ZodError ? 'not a replica record' : (error as Error).message;
      scan.unreadable.push({ file, reason });
    }
  }
  return scan;
}
