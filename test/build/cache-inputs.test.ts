import { createHash } from 'node:crypto';
import { chmod, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  dependencyPathsFor,
  findLockfiles,
  matchWorkspaceFolders,
  NOT_INSTALLED,
  serviceCacheKeys,
  serviceInputsDigest,
  toolchainKindsFor,
  toolchainVersions,
  workspaceDependencies,
} from '../../src/build/cache/index.js';
import { removeDir, tempDir, writeTree, type TreeSpec } from './tree-helpers.js';

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');
const json = (value: unknown): string => JSON.stringify(value, null, 2);

/** An npm workspace: app-a uses lib (which uses util), app-b uses nothing of the workspace. */
const NPM_WORKSPACE: TreeSpec = {
  'package.json': json({ name: 'mono', private: true, workspaces: ['apps/*', 'packages/*'] }),
  'package-lock.json': '{"lockfileVersion":3}',
  'tsconfig.base.json': '{}',
  '.gitignore': 'dist/\n*.log\n',
  'apps/app-a/package.json': json({ name: 'app-a', dependencies: { lib: '*', express: '^5' } }),
  'apps/app-a/src/index.js': 'console.log(require("lib"))',
  'apps/app-b/package.json': json({ name: 'app-b', dependencies: { express: '^5' } }),
  'apps/app-b/index.js': 'console.log("b")',
  'packages/lib/package.json': json({ name: 'lib', dependencies: { util: 'workspace:*' } }),
  'packages/lib/index.js': 'module.exports = 1',
  'packages/util/package.json': json({ name: 'util' }),
  'packages/util/index.js': 'module.exports = 2',
  'packages/unused/package.json': json({ name: 'unused' }),
  'packages/unused/index.js': 'module.exports = 3',
};

let root: string;
beforeEach(async () => {
  root = await tempDir('maestro-cache-inputs-');
});
afterEach(async () => {
  await removeDir(root);
});

describe('serviceInputsDigest in an npm workspace', () => {
  it('covers the service and the packages it uses, transitively, and nothing else', async () => {
    await writeTree(root, NPM_WORKSPACE);
    const a = await serviceInputsDigest(root, 'apps/app-a');
    expect(a.packages).toEqual(['packages/lib', 'packages/util']);
    expect(a.workspaceRoot).toBe('');
    const b = await serviceInputsDigest(root, 'apps/app-b');
    expect(b.packages).toEqual([]);

    // An unrelated app, an unused package: neither digest moves.
    await writeFile(join(root, 'apps/app-b/index.js'), 'console.log("b2")');
    await writeFile(join(root, 'packages/unused/index.js'), 'changed');
    expect((await serviceInputsDigest(root, 'apps/app-a')).digest).toBe(a.digest);
    const b2 = await serviceInputsDigest(root, 'apps/app-b');
    expect(b2.digest).not.toBe(b.digest);

    // A package app-a uses only through lib: app-a moves, app-b does not.
    await writeFile(join(root, 'packages/util/index.js'), 'module.exports = 22');
    const a2 = await serviceInputsDigest(root, 'apps/app-a');
    expect(a2.digest).not.toBe(a.digest);
    expect((await serviceInputsDigest(root, 'apps/app-b')).digest).toBe(b2.digest);

    // Root configuration is read by every package's build.
    await writeFile(join(root, 'tsconfig.base.json'), '{"strict":true}');
    expect((await serviceInputsDigest(root, 'apps/app-a')).digest).not.toBe(a2.digest);
  });

  it('follows the ignore rules of source packing: ignored files and node_modules are not inputs', async () => {
    await writeTree(root, { ...NPM_WORKSPACE, 'apps/app-a/dist/out.js': 'built', 'apps/app-a/debug.log': 'x', 'node_modules/lib': { link: '../packages/lib' } });
    const before = await serviceInputsDigest(root, 'apps/app-a');
    await writeTree(root, { 'apps/app-a/dist/out.js': 'rebuilt', 'apps/app-a/debug.log': 'y', 'apps/app-a/node_modules/x/index.js': 'dep', 'packages/lib/node_modules/y.js': 'dep' });
    expect((await serviceInputsDigest(root, 'apps/app-a')).digest).toBe(before.digest);
    // A .maestroignore re-including dist/ makes it an input again.
    await writeTree(root, { 'apps/app-a/.maestroignore': '!dist/\n' });
    const reincluded = await serviceInputsDigest(root, 'apps/app-a');
    await writeFile(join(root, 'apps/app-a/dist/out.js'), 'rebuilt again');
    expect((await serviceInputsDigest(root, 'apps/app-a')).digest).not.toBe(reincluded.digest);
  });

  it('sees a mode change, a renamed file and a changed link target', async () => {
    await writeTree(root, { ...NPM_WORKSPACE, 'apps/app-a/run.sh': 'echo', 'apps/app-a/current': { link: 'src' } });
    const seen = [(await serviceInputsDigest(root, 'apps/app-a')).digest];
    await chmod(join(root, 'apps/app-a/run.sh'), 0o755);
    seen.push((await serviceInputsDigest(root, 'apps/app-a')).digest);
    await rename(join(root, 'apps/app-a/run.sh'), join(root, 'apps/app-a/start.sh'));
    seen.push((await serviceInputsDigest(root, 'apps/app-a')).digest);
    await rm(join(root, 'apps/app-a/current'));
    await symlink('src/index.js', join(root, 'apps/app-a/current'));
    seen.push((await serviceInputsDigest(root, 'apps/app-a')).digest);
    expect(new Set(seen).size).toBe(4);
  });

  it('is the same for the same tree in another place', async () => {
    await writeTree(root, NPM_WORKSPACE);
    const other = await tempDir('maestro-cache-inputs-copy-');
    try {
      await writeTree(other, NPM_WORKSPACE);
      expect((await serviceInputsDigest(other, 'apps/app-a')).digest).toBe((await serviceInputsDigest(root, 'apps/app-a')).digest);
    } finally {
      await removeDir(other);
    }
  });

  it('reads pnpm-workspace.yaml and yarn-style { packages } workspaces', async () => {
    await writeTree(root, {
      'pnpm-workspace.yaml': 'packages:\n  - "apps/*"\n  - "libs/**"\n  - "!libs/skip"\n',
      'package.json': json({ name: 'root' }),
      'apps/web/package.json': json({ name: 'web', devDependencies: { '@acme/ui': 'workspace:^' } }),
      'libs/shared/ui/package.json': json({ name: '@acme/ui', peerDependencies: { '@acme/skip': '*' } }),
      'libs/skip/package.json': json({ name: '@acme/skip' }),
    });
    expect((await serviceInputsDigest(root, 'apps/web')).packages).toEqual(['libs/shared/ui']);

    const yarn = await tempDir('maestro-cache-inputs-yarn-');
    try {
      await writeTree(yarn, {
        'package.json': json({ private: true, workspaces: { packages: ['modules/*'] } }),
        'modules/api/package.json': json({ name: 'api', dependencies: { core: '1.0.0' } }),
        'modules/core/package.json': json({ name: 'core', dependencies: { api: '1.0.0' } }),
      });
      // A cycle back to the service itself ends there.
      expect((await serviceInputsDigest(yarn, 'modules/api')).packages).toEqual(['modules/core']);
    } finally {
      await removeDir(yarn);
    }
  });

  it('treats a folder outside any workspace as just its own files', async () => {
    await writeTree(root, { 'site/index.html': '<h1>hi</h1>', 'other/index.html': 'x' });
    const site = await serviceInputsDigest(root, 'site');
    expect(site).toMatchObject({ packages: [], files: 1 });
    expect(site.workspaceRoot).toBeUndefined();
    await writeFile(join(root, 'other/index.html'), 'y');
    expect((await serviceInputsDigest(root, 'site')).digest).toBe(site.digest);
  });

  it('says what to fix for a missing service folder or a broken package.json', async () => {
    await writeTree(root, NPM_WORKSPACE);
    await expect(serviceInputsDigest(root, 'apps/nope')).rejects.toThrow(/"apps\/nope" is not a folder of the source/);
    await expect(serviceInputsDigest(root, '../outside')).rejects.toThrow(/climbs out/);
    await writeFile(join(root, 'packages/lib/package.json'), '{ nope');
    await expect(serviceInputsDigest(root, 'apps/app-a')).rejects.toThrow(/packages\/lib\/package.json is not valid JSON/);
  });
});

describe('workspace globs and dependencies', () => {
  it('matches like npm: * within a name, ** across folders, ! excludes, dot-folders skipped', () => {
    const folders = ['apps', 'apps/a', 'apps/b', 'apps/.hidden', 'apps/a/nested', 'libs', 'libs/x', 'libs/x/y', 'tools'];
    expect(matchWorkspaceFolders(['apps/*'], folders)).toEqual(['apps/a', 'apps/b']);
    expect(matchWorkspaceFolders(['libs/**'], folders)).toEqual(['libs', 'libs/x', 'libs/x/y']);
    expect(matchWorkspaceFolders(['apps/*', '!apps/b', 'tools/'], folders)).toEqual(['apps/a', 'tools']);
    expect(matchWorkspaceFolders(['../elsewhere/*', './libs/x'], folders)).toEqual(['libs/x']);
  });

  it('never lists a folder that no pattern names, and a literal pattern names only itself', () => {
    const segment = fc.constantFrom('a', 'b', 'apps', 'libs', '.hidden');
    const folder = fc.array(segment, { minLength: 1, maxLength: 3 }).map((parts) => parts.join('/'));
    fc.assert(
      fc.property(fc.uniqueArray(folder, { maxLength: 12 }), folder, (folders, literal) => {
        expect(matchWorkspaceFolders([literal], folders)).toEqual(folders.includes(literal) ? [literal] : []);
        expect(matchWorkspaceFolders([], folders)).toEqual([]);
        const all = matchWorkspaceFolders(['**'], folders);
        expect(all).toEqual(folders.filter((path) => !path.split('/').some((part) => part.startsWith('.'))).sort());
      }),
    );
  });

  it('follows dependencies transitively, through cycles, without listing the service itself', () => {
    const members = [
      { folder: 'a', name: 'a', dependsOn: ['b'] },
      { folder: 'b', name: 'b', dependsOn: ['c', 'react'] },
      { folder: 'c', name: 'c', dependsOn: ['a'] },
      { folder: 'd', name: 'd', dependsOn: [] },
    ];
    expect(workspaceDependencies({ dependsOn: ['b'] }, members, 'a')).toEqual(['b', 'c']);
    expect(workspaceDependencies({ dependsOn: ['react'] }, members)).toEqual([]);
  });
});

describe('lockfiles and toolchain', () => {
  it('finds lockfiles in the service folder and the folders above it, with their digests', async () => {
    await writeTree(root, {
      ...NPM_WORKSPACE,
      'apps/app-a/requirements-dev.txt': 'pytest',
      'apps/app-a/notes.txt': 'not a lockfile',
      'apps/app-b/yarn.lock': 'other app',
      'apps/app-a/go.sum': { link: '../../package-lock.json' },
    });
    const found = await findLockfiles(root, 'apps/app-a');
    expect(found).toEqual([
      { path: 'apps/app-a/requirements-dev.txt', sha256: sha256('pytest') },
      { path: 'package-lock.json', sha256: sha256('{"lockfileVersion":3}') },
    ]);
    expect(toolchainKindsFor(found.map((lockfile) => lockfile.path))).toEqual(['node', 'npm', 'pip', 'python']);
  });

  it('asks each tool once and reports missing tools as not installed', async () => {
    const versions = await toolchainVersions(['node', 'node']);
    expect(versions).toEqual({ node: process.version });
    const missing = await toolchainVersions(['cargo', 'go'], { PATH: join(root, 'empty-bin') });
    expect(missing).toEqual({ cargo: NOT_INSTALLED, go: NOT_INSTALLED });
    await expect(toolchainVersions(['cobol'])).rejects.toThrow(/unknown toolchain "cobol"; known: .*node/);
  });

  it('computes both keys for a service and lists where its dependencies live', async () => {
    await writeTree(root, NPM_WORKSPACE);
    const keys = await serviceCacheKeys({ sourceRoot: root, servicePath: 'apps/app-a', install: 'npm ci', command: 'npm run build', env: { NODE_ENV: 'production' } });
    expect(keys.dependenciesCacheable).toBe(true);
    expect(keys.toolchain.node).toBe(process.version);
    expect(keys.dependencyPaths).toEqual([
      'source/apps/app-a/node_modules',
      'source/node_modules',
      'source/packages/lib/node_modules',
      'source/packages/util/node_modules',
    ]);
    const again = await serviceCacheKeys({ sourceRoot: root, servicePath: 'apps/app-a', install: 'npm ci', command: 'npm run build', env: { NODE_ENV: 'production' } });
    expect(again.buildOutputKey).toBe(keys.buildOutputKey);
    // A source change moves the output key, not the dependency key.
    await writeFile(join(root, 'apps/app-a/src/index.js'), 'changed');
    const edited = await serviceCacheKeys({ sourceRoot: root, servicePath: 'apps/app-a', install: 'npm ci', command: 'npm run build', env: { NODE_ENV: 'production' } });
    expect(edited.dependencyKey).toBe(keys.dependencyKey);
    expect(edited.buildOutputKey).not.toBe(keys.buildOutputKey);
    // The lockfile moves both.
    await writeFile(join(root, 'package-lock.json'), '{"lockfileVersion":3,"x":1}');
    const relocked = await serviceCacheKeys({ sourceRoot: root, servicePath: 'apps/app-a', install: 'npm ci', command: 'npm run build', env: { NODE_ENV: 'production' } });
    expect(relocked.dependencyKey).not.toBe(keys.dependencyKey);
    expect(relocked.buildOutputKey).not.toBe(edited.buildOutputKey);
  });

  it('does not offer to cache an install without a lockfile', async () => {
    await writeTree(root, { 'package.json': json({ name: 'solo', dependencies: { express: '^5' } }) });
    const keys = await serviceCacheKeys({ sourceRoot: root, servicePath: '.', install: 'npm install', env: {} });
    expect(keys.dependenciesCacheable).toBe(false);
    expect(keys.lockfiles).toEqual([]);
  });

  it('places node_modules at the root and a Python service\'s virtualenv in its folder, in the source tree', () => {
    expect(dependencyPathsFor({ servicePath: 'api', kinds: ['pip', 'python'], packages: [] })).toEqual(['source/api/.venv']);
    expect(dependencyPathsFor({ servicePath: '', kinds: ['node', 'npm'], workspaceRoot: '', packages: [] })).toEqual(['source/node_modules']);
  });

  it('keeps Go\'s module cache and Cargo\'s downloads under the steps\' HOME, outside the source tree', () => {
    expect(dependencyPathsFor({ servicePath: 'api', kinds: ['go'], packages: [] })).toEqual(['home/go/bin', 'home/go/pkg/mod']);
    expect(dependencyPathsFor({ servicePath: '', kinds: ['cargo', 'rustc'], packages: [] })).toEqual([
      'home/.cargo/.crates.toml',
      'home/.cargo/.crates2.json',
      'home/.cargo/bin',
      'home/.cargo/git/db',
      'home/.cargo/registry/cache',
      'home/.cargo/registry/index',
    ]);
    // A Go backend that also builds its assets with npm keeps both.
    expect(dependencyPathsFor({ servicePath: 'api', kinds: ['go', 'node', 'npm'], packages: [] })).toEqual(['home/go/bin', 'home/go/pkg/mod', 'source/api/node_modules']);
  });

  it('takes go.mod as a lockfile: with minimal version selection it pins the versions, go.sum only their hashes', async () => {
    await writeTree(root, { 'api/go.mod': 'module example.com/api\n', 'api/go.sum': '', 'api/main.go': 'package main' });
    const found = await findLockfiles(root, 'api');
    expect(found.map((lockfile) => lockfile.path)).toEqual(['api/go.mod', 'api/go.sum']);
    expect(toolchainKindsFor(found.map((lockfile) => lockfile.path))).toEqual(['go']);
  });
});
