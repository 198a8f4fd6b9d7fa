import { appendFileSync, copyFileSync, existsSync, renameSync, rmSync, statSync, truncateSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';

/** `<logDir>/<id>.log` is the live file; `<id>.log.1` the newest rotated one, `.2` older, and so on. */
export function currentLogPath(logDir: string, id: string): string {
  return join(logDir, `${id}.log`);
}

export function rotatedLogPath(logDir: string, id: string, generation: number): string {
  return `${currentLogPath(logDir, id)}.${generation}`;
}

/** The agent's own lines in a replica's log, set apart from what the app prints. */
export function appendMarker(file: string, text: string): void {
  appendFileSync(file, `--- ${text} ---\n`);
}

/**
 * Copy-and-truncate rotation: the app keeps writing through its O_APPEND descriptor, which lands at the
 * new end of the truncated file. Whatever the app writes between the copy and the truncation is lost;
 * that is the price of never touching the app's descriptor. `beforeTruncate` lets readers catch up first.
 */
export function rotateIfLarge(file: string, maxBytes: number, keep: number, beforeTruncate?: () => void): boolean {
  let size: number;
  try {
    size = statSync(file).size;
  } catch {
    return false;
  }
  if (size <= maxBytes) return false;
  if (keep > 0) {
    rmSync(`${file}.${keep}`, { force: true });
    for (let generation = keep - 1; generation >= 1; generation -= 1) {
      const older = `${file}.${generation}`;
      if (existsSync(older)) renameSync(older, `${file}.${generation + 1}`);
    }
    copyFileSync(file, `${file}.1`);
  }
  beforeTruncate?.();
  truncateSync(file, 0);
  return true;
}

const CHUNK_BYTES = 64 * 1024;

/** The last `count` lines of one file, read backwards in chunks so a large log is not read whole. */
export async function lastLinesOfFile(file: string, count: number): Promise<string[]> {
  if (count <= 0) return [];
  let handle;
  try {
    handle = await open(file, 'r');
  } catch {
    return [];
  }
  try {
    const { size } = await handle.stat();
    const chunks: Buffer[] = [];
    let position = size;
    let newlines = 0;
    // count + 1 newlines guarantee the earliest wanted line is complete (a trailing newline ends the last one).
    while (position > 0 && newlines <= count) {
      const length = Math.min(CHUNK_BYTES, position);
      position -= length;
      const chunk = Buffer.alloc(length);
      await handle.read(chunk, 0, length, position);
      for (const byte of chunk) if (byte === 0x0a) newlines += 1;
      chunks.unshift(chunk);
    }
    const lines = Buffer.concat(chunks).toString('utf8').split('\n');
    if (lines.at(-1) === '') lines.pop();
    if (position > 0) lines.shift();
    return lines.slice(-count);
  } finally {
    await handle.close();
  }
}

/** The last `count` lines across the live file and its rotated predecessors, oldest first. */
export async function lastLines(logDir: string, id: string, keep: number, count: number): Promise<string[]> {
  const files = [currentLogPath(logDir, id)];
  for (let generation = 1; generation <= keep; generation += 1) files.push(rotatedLogPath(logDir, id, generation));
  let lines: string[] = [];
  for (const file of files) {
    const needed = count - lines.length;
    if (needed <= 0) break;
    lines = [...(await lastLinesOfFile(file, needed)), ...lines];
  }
  return lines;
}
