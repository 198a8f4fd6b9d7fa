import { mkdir, realpath, symlink } from 'node:fs/promises';
import { join, sep } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normalizeEntryPath, resolveLink, type TreeNode } from '../../src/build/tree-paths.js';
import { removeDir, tempDir } from './tree-helpers.js';

describe('normalizeEntryPath', () => {
  it('gives the canonical relative form', () => {
    expect(normalizeEntryPath('./a//b/./c/')).toBe('a/b/c');
    expect(normalizeEntryPath('./')).toBe('');
  });

  it('refuses absolute paths, ".." anywhere, and NUL bytes, naming the entry', () => {
    expect(() => normalizeEntryPath('/etc/passwd')).toThrow('entry "/etc/passwd" is an absolute path');
    expect(() => normalizeEntryPath('C:/Windows')).toThrow(/absolute path/);
    expect(() => normalizeEntryPath('a/b/../../..')).toThrow(/"a\/b\/\.\.\/\.\.\/\.\." has a "\.\." component/);
    expect(() => normalizeEntryPath('a\0b')).toThrow(/"a\\x00b" contains a NUL byte/);
  });

  it('never returns a path that climbs, whatever it is given', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('a', '.', '..', '', 'b c', '...'), { maxLength: 8 }), (parts) => {
        const raw = parts.join('/');
        try {
          const path = normalizeEntryPath(raw);
          expect(path.split('/')).not.toContain('..');
          expect(path.startsWith('/')).toBe(false);
        } catch (error) {
          expect((error as Error).message).toMatch(/"\.\." component|absolute/);
        }
      }),
    );
  });
});

describe('resolveLink', () => {
  const tree = (entries: Record<string, string | null>): Map<string, TreeNode> =>
    new Map(Object.entries(entries).map(([path, target]) => [path, target === null ? { kind: 'dir' } : { kind: 'symlink', target }]));

  it('follows links the way the kernel does, ".." after a link climbing from its target', () => {
    const links = tree({ a: null, 'a/b': '..', q: 'a/b' });
    expect(resolveLink(links, 'x', 'q')).toBe('');
    expect(resolveLink(links, 'x', 'q/..')).toBeUndefined();
    expect(resolveLink(links, 'a/c', '../a/b')).toBe('');
    expect(resolveLink(tree({ loop: 'loop' }), 'x', 'loop')).toBeUndefined();
  });

  let base: string;
  beforeAll(async () => {
    base = await tempDir('maestro-links-');
  });
  afterAll(async () => {
    await removeDir(base);
  });

  it('agrees with the kernel on whether a link leads outside the tree', async () => {
    const names = fc.constantFrom('a', 'b', 'c');
    const targets = fc.constantFrom('.', '..', 'a', 'b', 'c', '../..', 'a/b', '../a', 'b/..', 'c/../..', 'a/../..', 'c/c');
    const entry = fc.record({ path: fc.array(names, { minLength: 1, maxLength: 2 }), target: fc.option(targets, { nil: undefined }) });
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(entry, { minLength: 1, maxLength: 8 }), async (entries) => {
        run += 1;
        // The tree sits two folders deep so that escaping links still resolve to something real.
        const root = join(base, `run-${run}`, 'outer', 'root');
        await mkdir(root, { recursive: true });
        const model = new Map<string, TreeNode>();
        for (const { path, target } of entries) {
          const key = path.join('/');
          if (model.has(key) || (path.length > 1 && model.get(path[0]!)?.kind !== 'dir' && model.has(path[0]!))) continue;
          if (path.length > 1 && !model.has(path[0]!)) {
            model.set(path[0]!, { kind: 'dir' });
            await mkdir(join(root, path[0]!));
          }
          if (target === undefined) {
            model.set(key, { kind: 'dir' });
            await mkdir(join(root, key));
          } else {
            model.set(key, { kind: 'symlink', target });
            await symlink(target, join(root, key));
          }
        }
        const realRoot = await realpath(root);
        for (const [path, node] of model) {
          if (node.kind !== 'symlink') continue;
          const real = await realpath(join(root, path)).catch(() => undefined);
          if (real === undefined) continue; // dangling or a loop: nothing to follow
          const inside = real === realRoot || real.startsWith(realRoot + sep);
          if (!inside) expect(resolveLink(model, path, node.target), `${path} -> ${node.target} reaches ${real}`).toBeUndefined();
          if (inside) expect(resolveLink(model, path, node.target), `${path} -> ${node.target}`).toBe(real === realRoot ? '' : real.slice(realRoot.length + 1));
        }
      }),
      { numRuns: 60 },
    );
  });
});
