import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, readFile, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { Parser, type ReadEntry } from 'tar';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { packSource, unpackSource } from '../../src/build/index.js';
import { listAll, removeDir, snapshotTree, tempDir, writeTree } from './tree-helpers.js';

const LIMITS = { maxBytes: 10 * 1024 * 1024, maxFiles: 1000 };

let base: string;
beforeEach(async () => {
  base = await tempDir();
});
afterEach(async () => {
  delete process.env.SOURCE_DATE_EPOCH;
  await removeDir(base);
});

async function packedPaths(dir: string): Promise<string[]> {
  const packed = await packSource(dir);
  const out = join(base, `out-${Math.random().toString(16).slice(2)}`);
  await unpackSource(packed.archive, out, LIMITS);
  return listAll(out);
}

function headers(archive: Buffer): Promise<ReadEntry[]> {
  return new Promise((resolve, reject) => {
    const entries: ReadEntry[] = [];
    const parser = new Parser({ onReadEntry: (entry) => (entries.push(entry), entry.resume()) });
    parser.on('end', () => resolve(entries));
    parser.on('error', reject);
    parser.end(archive);
  });
}

describe('packSource', () => {
  it('gives the same digest for the same tree, whatever the mtimes and group/other permission bits', async () => {
    const app = join(base, 'app');
    await writeTree(app, { 'package.json': '{"name":"a"}', 'src/index.js': 'console.log(1)', 'bin/run': { exec: '#!/bin/sh\n' } });
    const first = await packSource(app);
    const second = await packSource(app);
    expect(second.digest).toBe(first.digest);
    expect(first.digest).toBe(createHash('sha256').update(first.archive).digest('hex'));

    const later = new Date('2030-01-01T00:00:00Z');
    for (const path of ['package.json', 'src/index.js', 'bin/run', 'src']) await utimes(join(app, path), later, later);
    await chmod(join(app, 'package.json'), 0o664);
    await chmod(join(app, 'bin/run'), 0o775);
    const touched = await packSource(app);
    expect(touched.digest).toBe(first.digest);
    expect(touched.files).toBe(3);
    expect(touched.bytes).toBe('{"name":"a"}'.length + 'console.log(1)'.length + '#!/bin/sh\n'.length);
  });

  it('changes the digest when a byte or the executable bit changes', async () => {
    const app = join(base, 'app');
    await writeTree(app, { 'a.txt': 'one' });
    const before = await packSource(app);
    await writeTree(app, { 'a.txt': 'onE' });
    const edited = await packSource(app);
    await chmod(join(app, 'a.txt'), 0o755);
    const executable = await packSource(app);
    expect(new Set([before.digest, edited.digest, executable.digest]).size).toBe(3);
  });

  it('writes sorted entries with mtime 0, uid/gid 0, no user names and 0644/0755 modes', async () => {
    const app = join(base, 'app');
    await writeTree(app, { 'b.txt': 'b', 'a/z.txt': 'z', 'a/run.sh': { exec: 'echo' }, 'c': { link: 'b.txt' } });
    await chmod(join(app, 'b.txt'), 0o600);
    const entries = await headers((await packSource(app)).archive);
    expect(entries.map((entry) => entry.path)).toEqual(['a/', 'a/run.sh', 'a/z.txt', 'b.txt', 'c']);
    for (const entry of entries) {
      expect(entry.uid).toBe(0);
      expect(entry.gid).toBe(0);
      expect(entry.uname ?? '').toBe('');
      if (entry.type !== 'Directory') expect(entry.mtime?.getTime()).toBe(0);
    }
    expect(entries.map((entry) => entry.mode)).toEqual([0o755, 0o755, 0o644, 0o644, 0o777]);
    expect(entries[4]!.linkpath).toBe('b.txt');
  });

  it('uses SOURCE_DATE_EPOCH as the mtime when it is set', async () => {
    const app = join(base, 'app');
    await writeTree(app, { 'a.txt': 'a' });
    const plain = await packSource(app);
    process.env.SOURCE_DATE_EPOCH = '1700000000';
    const dated = await packSource(app);
    expect(dated.digest).not.toBe(plain.digest);
    expect((await headers(dated.archive))[0]!.mtime?.getTime()).toBe(1_700_000_000_000);
    process.env.SOURCE_DATE_EPOCH = 'yesterday';
    await expect(packSource(app)).rejects.toThrow(/SOURCE_DATE_EPOCH must be whole seconds/);
  });

  it('leaves out .git, node_modules and .maestro at any depth', async () => {
    const app = join(base, 'app');
    await writeTree(app, {
      'index.js': '1',
      '.git/HEAD': 'ref',
      'node_modules/x/index.js': 'x',
      '.maestro/db': 'db',
      'packages/web/node_modules/y.js': 'y',
      'packages/web/.git': 'gitdir: elsewhere',
      'packages/web/page.js': 'p',
    });
    expect(await packedPaths(app)).toEqual(['index.js', 'packages', 'packages/web', 'packages/web/page.js']);
  });

  it('honours .gitignore files like git: nested files speak relative to their folder, deeper ones win', async () => {
    const app = join(base, 'app');
    await writeTree(app, {
      '.gitignore': '*.log\n/build/\nsecret.txt\n',
      'app.log': 'noise',
      'build/out.js': 'built',
      'keep.js': 'k',
      'lib/build/inner.js': 'not the root build folder',
      'lib/.gitignore': 'generated/\n!important.log\n',
      'lib/generated/x.js': 'x',
      'lib/important.log': 'kept by the deeper rule',
      'lib/other.log': 'still ignored',
      'lib/secret.txt': 'ignored by the root rule (no slash: any depth)',
    });
    expect(await packedPaths(app)).toEqual([
      '.gitignore',
      'keep.js',
      'lib',
      'lib/.gitignore',
      'lib/build',
      'lib/build/inner.js',
      'lib/important.log',
    ]);
  });

  it('honours .maestroignore, which may also re-include what git ignores', async () => {
    const app = join(base, 'app');
    await writeTree(app, {
      '.gitignore': 'dist/\n',
      '.maestroignore': '!dist/\ntests/\n*.psd\n',
      'dist/bundle.js': 'b',
      'tests/a.test.js': 't',
      'art/logo.psd': 'big',
      'art/logo.png': 'small',
    });
    expect(await packedPaths(app)).toEqual(['.gitignore', '.maestroignore', 'art', 'art/logo.png', 'dist', 'dist/bundle.js']);
  });

  it('keeps symbolic links that stay inside, and refuses ones that leave, naming the link', async () => {
    const app = join(base, 'app');
    await writeTree(app, { 'real/config.json': '{}', 'current': { link: 'real' }, 'real/self': { link: '../real/config.json' } });
    const out = join(base, 'out');
    await unpackSource((await packSource(app)).archive, out, LIMITS);
    expect(await snapshotTree(out)).toMatchObject({ current: { kind: 'symlink', target: 'real' }, 'real/self': { kind: 'symlink', target: '../real/config.json' } });
    expect(await readFile(join(out, 'current/config.json'), 'utf8')).toBe('{}');

    await writeTree(app, { 'lib/escape': { link: '../../outside' } });
    await expect(packSource(app)).rejects.toMatchObject({ code: 'validation_error', message: expect.stringContaining('"lib/escape" points outside the folder') });
  });

  it('refuses absolute symbolic links and special files with a message that says what to do', async () => {
    const app = join(base, 'app');
    await writeTree(app, { 'a.txt': 'a', 'abs': { link: '/etc/hostname' } });
    await expect(packSource(app)).rejects.toThrow(/"abs" points to the absolute path "\/etc\/hostname"; use a relative link/);

    const other = join(base, 'other');
    await writeTree(other, { 'a.txt': 'a' });
    execFileSync('mkfifo', [join(other, 'pipe')]);
    await expect(packSource(other)).rejects.toThrow(/"pipe" is a named pipe; .*\.maestroignore/);
    await writeTree(other, { '.maestroignore': 'pipe\n' });
    expect((await packSource(other)).files).toBe(2);
  });

  it('refuses folders over maxBytes, and folders that do not exist', async () => {
    const app = join(base, 'app');
    await writeTree(app, { 'big.bin': Buffer.alloc(5000), 'small.txt': 'x' });
    await expect(packSource(app, { maxBytes: 4096 })).rejects.toMatchObject({ code: 'payload_too_large' });
    expect((await packSource(app, { maxBytes: 5001 })).bytes).toBe(5001);
    await expect(packSource(join(base, 'missing'))).rejects.toThrow(/is not a folder/);
  });

  it('writes the same archive to a file when asked', async () => {
    const app = join(base, 'app');
    await writeTree(app, { 'a.txt': 'a'.repeat(100_000), 'deep/er/than/that/file-with-a-rather-long-name-that-needs-the-pax-or-prefix-fields-of-the-header-to-fit.txt': 'long' });
    const inMemory = await packSource(app);
    const outFile = join(base, 'source.tar.gz');
    const onDisk = await packSource(app, { outFile });
    expect(onDisk.archive).toBe(outFile);
    expect(onDisk.digest).toBe(inMemory.digest);
    expect((await readFile(outFile)).equals(inMemory.archive)).toBe(true);
    expect(inMemory.archiveBytes).toBe(inMemory.archive.length);
  });
});
