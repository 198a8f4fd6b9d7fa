import { chmod, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ContentStore, packArtifact, packSource, runBuild, unpackArtifact } from '../../src/build/index.js';
import { removeDir, snapshotTree, tempDir, writeTree } from './tree-helpers.js';

let base: string;
let store: ContentStore;
beforeEach(async () => {
  base = await tempDir('maestro-artifact-');
  store = new ContentStore(join(base, 'artifacts'));
});
afterEach(async () => {
  await removeDir(base);
});

describe('artifacts', () => {
  it('round-trips a built service folder through the store: same files, modes and links, node_modules included', async () => {
    const app = join(base, 'app');
    await writeTree(app, { 'package.json': '{}', '.gitignore': 'node_modules/\ndist/\n', 'src/index.js': 'x' });
    const source = await packSource(app, { outFile: join(base, 'source.tar.gz') });
    const built = await runBuild({
      sourceArchive: source.archive,
      workDir: join(base, 'work'),
      servicePath: '.',
      install: 'mkdir -p node_modules/tool/bin node_modules/.bin && printf "#!/bin/sh\\necho tool\\n" > node_modules/tool/bin/cli && chmod 755 node_modules/tool/bin/cli && ln -s ../tool/bin/cli node_modules/.bin/tool',
      command: 'mkdir -p dist && node_modules/.bin/tool > dist/out.txt',
      env: {},
      onLog: () => undefined,
    });
    const packed = await packArtifact(built.artifactDir, store);
    expect(await store.has(packed.digest)).toBe(true);
    expect(packed.size).toBe((await readFile(store.path(packed.digest))).length);

    const dest = join(base, 'revision');
    await unpackArtifact(packed.digest, store, dest);
    const original = await snapshotTree(built.artifactDir);
    expect(await snapshotTree(dest)).toEqual(original);
    expect(original['node_modules/.bin/tool']).toEqual({ kind: 'symlink', target: '../tool/bin/cli' });
    expect(original['node_modules/tool/bin/cli']).toMatchObject({ mode: 0o755 });
    expect(await readFile(join(dest, 'dist/out.txt'), 'utf8')).toBe('tool\n');
  });

  it('gives the same digest for the same folder, and a new one when a mode changes', async () => {
    const dir = join(base, 'built');
    await writeTree(dir, { 'a.js': 'a', 'node_modules/x/index.js': 'x', '.git/HEAD': 'kept: artifacts have no ignore rules' });
    const first = await packArtifact(dir, store);
    expect((await packArtifact(dir, store)).digest).toBe(first.digest);
    await chmod(join(dir, 'a.js'), 0o755);
    expect((await packArtifact(dir, store)).digest).not.toBe(first.digest);
    const dest = join(base, 'dest');
    await unpackArtifact(first.digest, store, dest);
    expect(Object.keys(await snapshotTree(dest))).toEqual(['.git', '.git/HEAD', 'a.js', 'node_modules', 'node_modules/x', 'node_modules/x/index.js']);
  });

  it('answers not_found for an artifact the store does not have, creating nothing', async () => {
    const dest = join(base, 'dest');
    await expect(unpackArtifact('0'.repeat(64), store, dest)).rejects.toMatchObject({ code: 'not_found' });
    await expect(readFile(dest)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
