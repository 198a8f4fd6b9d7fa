import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { lastLinesOfFile } from '../../src/runtime/log-files.js';
import { RuntimeSandbox, eventually, replicaSpec } from './harness.js';

let sandbox: RuntimeSandbox;
beforeEach(() => {
  sandbox = new RuntimeSandbox();
});
afterEach(async () => {
  await sandbox.cleanup();
});

function lineNumbers(lines: string[]): number[] {
  return lines.flatMap((line) => {
    const match = /^line (\d{8}) /.exec(line);
    return match ? [Number(match[1])] : [];
  });
}

describe('replica logs', () => {
  it('rotates by copy-and-truncate past logMaxBytes, keeps logKeep files, and the app keeps writing', async () => {
    const agent = sandbox.agent({ logMaxBytes: 20_000, logKeep: 2, logCheckIntervalMs: 50 });
    await agent.start(replicaSpec('chatty-1', 'chatty.mjs', { env: { LINES_PER_TICK: '20', LINE_BYTES: '100' } }));
    const current = agent.logFile('chatty-1');
    // ~100 KB/s against a 20 KB cap: several rotations in under a second.
    expect(await eventually(() => existsSync(`${current}.2`), 5000)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 300));

    expect(existsSync(`${current}.3`)).toBe(false);
    // The app writes with O_APPEND, so after truncation its lines land at the start again: no hole of NULs.
    const live = readFileSync(current);
    expect(live.length).toBeLessThan(60_000);
    expect(live.subarray(0, 5).toString()).not.toContain('\0');
    for (const file of [`${current}.1`, `${current}.2`]) expect(statSync(file).size).toBeGreaterThan(20_000);

    // The rotated files hold older lines than the live one.
    const older = lineNumbers(readFileSync(`${current}.2`, 'utf8').split('\n'));
    const newer = lineNumbers(readFileSync(`${current}.1`, 'utf8').split('\n'));
    expect(Math.max(...older)).toBeLessThan(Math.min(...newer));

    // readLogs reaches across the files: the last lines, in order.
    const tail = await agent.readLogs('chatty-1', { tail: 500 });
    expect(tail).toHaveLength(500);
    const numbers = lineNumbers(tail);
    expect(numbers.length).toBeGreaterThan(400);
    for (let i = 1; i < numbers.length; i += 1) expect(numbers[i]!).toBeGreaterThan(numbers[i - 1]!);
  });

  it('follows new lines like tail -f, through a rotation, until unsubscribed', async () => {
    const agent = sandbox.agent({ logMaxBytes: 5_000, logKeep: 1, logCheckIntervalMs: 100 });
    await agent.start(replicaSpec('follow-1', 'chatty.mjs', { env: { LINES_PER_TICK: '1', LINE_BYTES: '100' } }));
    const seen: string[] = [];
    const unsubscribe = agent.followLogs('follow-1', (line) => seen.push(line));
    // 50 lines/s of 100 bytes: the 5 KB cap rotates about once a second.
    expect(await eventually(() => lineNumbers(seen).length >= 80, 6000)).toBe(true);
    expect(existsSync(`${agent.logFile('follow-1')}.1`)).toBe(true);
    unsubscribe();
    const numbers = lineNumbers(seen);
    for (let i = 1; i < numbers.length; i += 1) expect(numbers[i]!).toBeGreaterThan(numbers[i - 1]!);
    const count = seen.length;
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(seen.length).toBe(count);
  });

  it('returns the last lines including the agent markers, and none for an unknown replica', async () => {
    const agent = sandbox.agent({ restartBackoff: { initialMs: 10_000, maxMs: 10_000 } });
    const { pid } = await agent.start(replicaSpec('tail-1', 'exit-at-once.mjs'));
    expect(await eventually(async () => (await agent.readLogs('tail-1')).some((line) => line.includes('restarting in')))).toBe(true);
    expect(await agent.readLogs('tail-1', { tail: 4 })).toEqual([
      expect.stringContaining(`--- replica tail-1 started pid ${pid} (revision rev-tail-1`),
      'fatal: DATABASE_URL is not set',
      expect.stringMatching(new RegExp(`^--- replica tail-1 pid ${pid} exited at once with code 1 \\((\\d+ms|[\\d.]+s) after start\\) ---$`)),
      '--- replica tail-1 restarting in 10000 ms ---',
    ]);
    expect(await agent.readLogs('tail-1', { tail: 0 })).toEqual([]);
    expect(await agent.readLogs('nobody-1')).toEqual([]);
    await expect(agent.readLogs('../etc/passwd')).rejects.toMatchObject({ code: 'validation_error' });
  });
});

describe('lastLinesOfFile', () => {
  it('equals splitting the whole file, for any content and count', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'maestro-tail-'));
    try {
      const file = join(dir, 'log');
      // Short lines with multi-byte characters, and long ones that span the 64 KiB read chunks.
      const line = fc.oneof(
        fc.string({ unit: 'grapheme', maxLength: 30 }).map((text) => text.replaceAll('\n', ' ')),
        fc.integer({ min: 60_000, max: 140_000 }).map((length) => 'y'.repeat(length)),
      );
      await fc.assert(
        fc.asyncProperty(fc.array(line, { maxLength: 12 }), fc.boolean(), fc.nat(15), async (lines, trailing, count) => {
          const text = lines.join('\n') + (trailing ? '\n' : '');
          writeFileSync(file, text);
          // A final newline ends the last line rather than starting an empty one.
          const expected = text === '' ? [] : text.split('\n');
          if (text.endsWith('\n')) expected.pop();
          expect(await lastLinesOfFile(file, count)).toEqual(expected.slice(expected.length - Math.min(count, expected.length)));
        }),
        { numRuns: 60 },
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
