import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { unpackSource, type UnpackLimits } from '../../src/build/index.js';
import { rawTar, type RawEntry } from './raw-tar.js';
import { listAll, removeDir, snapshotTree, tempDir } from './tree-helpers.js';

const LIMITS: UnpackLimits = { maxBytes: 1024 * 1024, maxFiles: 100 };

let base: string;
let dest: string;
let outside: string;
beforeEach(async () => {
  base = await tempDir('maestro-unpack-');
  dest = join(base, 'dest');
  outside = join(base, 'outside');
  await mkdir(outside);
  await writeFile(join(outside, 'victim.txt'), 'original');
});
afterEach(async () => {
  await removeDir(base);
});

/** Unpacking must fail with a message naming `named`, leave `outside` untouched, and leave nothing in dest. */
async function expectRefused(archive: Buffer, named: string | RegExp, limits: UnpackLimits = LIMITS): Promise<void> {
  const before = await listAll(base);
  const attempt = unpackSource(archive, dest, limits);
  await expect(attempt).rejects.toMatchObject({ code: 'validation_error', message: expect.stringMatching(named) });
  expect(await listAll(outside)).toEqual(['victim.txt']);
  expect(await readFile(join(outside, 'victim.txt'), 'utf8')).toBe('original');
  expect(await listAll(base)).toEqual(before);
}

describe('unpackSource', () => {
  it('unpacks files, folders and inside links with normalised modes', async () => {
    const archive = rawTar([
      { path: 'app/', type: 'Directory', mode: 0o700 },
      { path: 'app/index.js', content: 'console.log(1)', mode: 0o4755 },
      { path: 'app/readme.md', content: 'hi', mode: 0o600 },
      { path: 'app/current', type: 'SymbolicLink', linkpath: 'index.js' },
      { path: 'app/copy.js', type: 'Link', linkpath: 'app/index.js' },
      { path: 'deep/er/file.txt', content: 'implied folders' },
    ]);
    expect(await unpackSource(archive, dest, LIMITS)).toEqual({ files: 5, bytes: 14 + 2 + 15 });
    const tree = await snapshotTree(dest);
    expect(tree['app']).toEqual({ kind: 'dir', mode: 0o755 });
    expect(tree['app/index.js']).toMatchObject({ kind: 'file', mode: 0o755 });
    expect(tree['app/readme.md']).toMatchObject({ kind: 'file', mode: 0o644 });
    expect(tree['app/current']).toEqual({ kind: 'symlink', target: 'index.js' });
    expect(await readFile(join(dest, 'app/copy.js'), 'utf8')).toBe('console.log(1)');
    expect(await readFile(join(dest, 'deep/er/file.txt'), 'utf8')).toBe('implied folders');
  });

  it('accepts plain (not gzipped) tar and an empty archive', async () => {
    await unpackSource(rawTar([{ path: 'a.txt', content: 'a' }], { gzip: false }), dest, LIMITS);
    expect(await readFile(join(dest, 'a.txt'), 'utf8')).toBe('a');
    expect(await unpackSource(rawTar([]), join(base, 'empty'), LIMITS)).toEqual({ files: 0, bytes: 0 });
  });

  it('refuses absolute paths', async () => {
    await expectRefused(rawTar([{ path: 'ok.txt', content: 'fine' }, { path: join(outside, 'victim.txt'), content: 'pwned' }]), /absolute path/);
  });

  it('refuses ".." components, also when a pax header smuggles them in', async () => {
    await expectRefused(rawTar([{ path: '../outside/victim.txt', content: 'pwned' }]), /"\.\.\/outside\/victim\.txt" has a "\.\." component/);
    await expectRefused(rawTar([{ path: 'a/../../outside/new.txt', content: 'pwned' }]), /"\.\." component/);
    await expectRefused(rawTar([{ path: 'innocent.txt', content: 'pwned', pax: { path: '../outside/victim.txt' } }]), /"\.\.\/outside\/victim\.txt"/);
  });

  it('refuses symbolic links that lead outside, and writing through them', async () => {
    const escape: RawEntry[] = [
      { path: 'link', type: 'SymbolicLink', linkpath: '../outside' },
      { path: 'link/victim.txt', content: 'pwned' },
    ];
    await expectRefused(rawTar(escape), /"link" is a symbolic link to "\.\.\/outside", which leads outside/);
    await expectRefused(rawTar([{ path: 'etc', type: 'SymbolicLink', linkpath: outside }]), /absolute path/);
    // Each link looks harmless on its own; followed the way the kernel follows them, "up" is outside.
    const chained: RawEntry[] = [
      { path: 'a/', type: 'Directory' },
      { path: 'a/b', type: 'SymbolicLink', linkpath: '..' },
      { path: 'q', type: 'SymbolicLink', linkpath: 'a/b' },
      { path: 'up', type: 'SymbolicLink', linkpath: 'q/..' },
    ];
    await expectRefused(rawTar(chained), /"up" is a symbolic link to "q\/\.\.", which leads outside/);
    // A link that points at a folder inside is fine to have, but never to write through.
    const through: RawEntry[] = [
      { path: 'real/', type: 'Directory' },
      { path: 'alias', type: 'SymbolicLink', linkpath: 'real' },
      { path: 'alias/file.txt', content: 'x' },
    ];
    await expectRefused(rawTar(through), /"alias\/file\.txt" would be written through the symbolic link "alias"/);
  });

  it('refuses a link that points forward to a link leading out', async () => {
    const forward: RawEntry[] = [
      { path: 'first', type: 'SymbolicLink', linkpath: 'second/..' },
      { path: 'second', type: 'SymbolicLink', linkpath: 'x' },
      { path: 'x', type: 'SymbolicLink', linkpath: '.' },
    ];
    await expectRefused(rawTar(forward), /"first" is a symbolic link to "second\/\.\.", which leads outside/);
  });

  it('refuses hard links to anything but a file earlier in the archive', async () => {
    await expectRefused(rawTar([{ path: 'h', type: 'Link', linkpath: join(outside, 'victim.txt') }]), /absolute path/);
    await expectRefused(rawTar([{ path: 'h', type: 'Link', linkpath: '../outside/victim.txt' }]), /"\.\." component/);
    await expectRefused(rawTar([{ path: 'h', type: 'Link', linkpath: 'later.txt' }, { path: 'later.txt', content: 'x' }]), /"h" is a hard link to "later\.txt", which is not a file earlier/);
    const viaLink: RawEntry[] = [
      { path: 'out', type: 'SymbolicLink', linkpath: '.' },
      { path: 'h', type: 'Link', linkpath: 'out' },
    ];
    await expectRefused(rawTar(viaLink), /not a file earlier/);
  });

  it('refuses device files and fifos', async () => {
    await expectRefused(rawTar([{ path: 'null', type: 'CharacterDevice' }]), /"null" is a device file/);
    await expectRefused(rawTar([{ path: 'disk', type: 'BlockDevice' }]), /"disk" is a device file/);
    await expectRefused(rawTar([{ path: 'pipe', type: 'FIFO' }]), /"pipe" is a FIFO/);
  });

  it('refuses an entry that appears twice (an overwrite in disguise)', async () => {
    const twice: RawEntry[] = [
      { path: 'config.js', content: 'safe' },
      { path: 'config.js', type: 'SymbolicLink', linkpath: 'elsewhere' },
    ];
    await expectRefused(rawTar(twice), /"config\.js" appears twice/);
  });

  it('stops a zip bomb at the byte limit before writing it', async () => {
    const bomb = rawTar([{ path: 'zeros.bin', content: Buffer.alloc(8 * 1024 * 1024) }]);
    expect(bomb.length).toBeLessThan(100 * 1024);
    await expectRefused(bomb, /"zeros\.bin" \(8\.0 MiB\) takes the archive past the limit of 1\.0 MiB/);
    // Many small files add up too.
    const many = rawTar(Array.from({ length: 5 }, (_, index) => ({ path: `f${index}`, content: Buffer.alloc(300 * 1024) })));
    await expectRefused(many, /"f3" .* past the limit/);
  });

  it('stops a stream that decompresses to endless data that is not even entries', async () => {
    const endless = gzipSync(Buffer.concat([rawTar([{ path: 'a', content: 'a' }], { gzip: false }), Buffer.alloc(40 * 1024 * 1024)]));
    await expectRefused(endless, /unpacks to more than/, { maxBytes: 1024, maxFiles: 10 });
  });

  it('refuses archives with more entries than allowed', async () => {
    const archive = rawTar(Array.from({ length: 12 }, (_, index) => ({ path: `dir${index}/`, type: 'Directory' as const })));
    await expectRefused(archive, /"dir10\/" is past the limit of 10 entries/, { maxBytes: 1024, maxFiles: 10 });
  });

  it('counts folders implied by deep paths against the entry limit', async () => {
    const deep = rawTar([{ path: `${Array.from({ length: 30 }, (_, index) => `d${index}`).join('/')}/file.txt`, content: 'deep' }]);
    await expectRefused(deep, /past the limit of 10 entries/, { maxBytes: 1024, maxFiles: 10 });
  });

  it('refuses damaged archives and nested compression', async () => {
    await expectRefused(Buffer.alloc(0), /damaged or not a tar\.gz/);
    await expectRefused(Buffer.from('this is not an archive at all, just some text that goes on for a while'.repeat(20)), /damaged or not a tar\.gz/);
    const good = rawTar([{ path: 'a.txt', content: 'x'.repeat(5000) }]);
    await expectRefused(good.subarray(0, good.length - 40), /damaged|cut short/);
    await expectRefused(gzipSync(good), /compressed twice/);
  });

  it('will not unpack into a folder that already has something in it', async () => {
    await mkdir(dest);
    await writeFile(join(dest, 'existing'), 'keep me');
    await expect(unpackSource(rawTar([{ path: 'a', content: 'a' }]), dest, LIMITS)).rejects.toThrow(/not empty/);
    expect(await readFile(join(dest, 'existing'), 'utf8')).toBe('keep me');
  });

  it('empties an existing destination again after a refusal, and reads archives from a path', async () => {
    await mkdir(dest);
    const archivePath = join(base, 'upload.tar.gz');
    await writeFile(archivePath, rawTar([{ path: 'fine.txt', content: 'ok' }, { path: 'dev', type: 'CharacterDevice' }]));
    await expect(unpackSource(archivePath, dest, LIMITS)).rejects.toThrow(/device file/);
    expect((await stat(dest)).isDirectory()).toBe(true);
    expect(await listAll(dest)).toEqual([]);
    await expect(unpackSource(join(base, 'missing.tar.gz'), join(base, 'other'), LIMITS)).rejects.toMatchObject({ code: 'not_found' });
  });
});
