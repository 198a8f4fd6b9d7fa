import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packSource, unpackSource } from '../../src/build/index.js';
import { removeDir, snapshotTree, tempDir, writeTree, type TreeSpec } from './tree-helpers.js';

const name = fc.constantFrom('a', 'b', 'src', 'lib', 'index.js', 'README.md', 'ünï', 'with space', 'x'.repeat(120), 'UPPER');
const file = fc.record({
  segments: fc.array(name, { minLength: 1, maxLength: 3 }),
  content: fc.uint8Array({ maxLength: 2000 }),
  executable: fc.boolean(),
});

/** Random files; a path that is also another file's folder is dropped, as a file system would force. */
function toSpec(files: Array<{ segments: string[]; content: Uint8Array; executable: boolean }>): TreeSpec {
  const spec: TreeSpec = {};
  const folders = new Set<string>();
  for (const { segments } of files) for (let depth = 1; depth < segments.length; depth += 1) folders.add(segments.slice(0, depth).join('/'));
  for (const { segments, content, executable } of files) {
    const path = segments.join('/');
    if (folders.has(path) || path in spec) continue;
    spec[path] = executable ? { exec: Buffer.from(content).toString('latin1') } : Buffer.from(content);
  }
  return spec;
}

let base: string;
beforeAll(async () => {
  base = await tempDir('maestro-roundtrip-');
});
afterAll(async () => {
  await removeDir(base);
});

describe('pack -> unpack', () => {
  it('reproduces every file byte for byte, with its mode, and the digest is stable', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(file, { minLength: 1, maxLength: 12 }), async (files) => {
        run += 1;
        const app = join(base, `app-${run}`);
        const out = join(base, `out-${run}`);
        await writeTree(app, toSpec(files));
        const first = await packSource(app);
        const second = await packSource(app);
        expect(second.digest).toBe(first.digest);
        await unpackSource(first.archive, out, { maxBytes: 10 * 1024 * 1024, maxFiles: 1000 });
        expect(await snapshotTree(out)).toEqual(await snapshotTree(app));
        await removeDir(app);
        await removeDir(out);
      }),
      { numRuns: 30 },
    );
  });
});
