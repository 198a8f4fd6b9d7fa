/**
 * A lockfile that does not match package.json fails the install at once, before it runs or comes
 * from the cache, with a message saying what differs; and when the real npm ci finds a mismatch
 * the check does not look for, that failure is the code's, not retried as network trouble.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { looksTransient, packSource, runPipeline, StepFailure, type PipelineInput } from '../../src/build/index.js';
import { BuildCache } from '../../src/build/cache/index.js';
import { npmLockfileFor } from '../../src/build/npm-lockfile-files.js';
import { checkNpmLockfile } from '../../src/build/npm-lockfile-sync.js';
import { openPipelineHarness, type PipelineHarness } from './pipeline-harness.js';
import { removeDir, tempDir, writeTree, type TreeSpec } from './tree-helpers.js';

const json = (value: unknown): string => JSON.stringify(value, null, 2);

/** An npm workspace: the root depends on lib, lib on util; its lockfile is written by the real npm in beforeAll. */
const WORKSPACE: TreeSpec = {
  'package.json': json({ name: 'mono', version: '1.0.0', private: true, workspaces: ['packages/*'], dependencies: { lib: '^1.0.0' } }),
  'packages/lib/package.json': json({ name: 'lib', version: '1.0.0', dependencies: { util: '^1.0.0' } }),
  'packages/lib/index.js': 'module.exports = require("util")',
  'packages/util/package.json': json({ name: 'util', version: '1.0.0' }),
  'packages/util/index.js': 'module.exports = 1',
};

let harness: PipelineHarness;
let cache: BuildCache;
let npmLockfile: string;
let runs = 0;

beforeAll(async () => {
  harness = await openPipelineHarness('maestro-lockfile-');
  cache = new BuildCache({ root: join(harness.root, 'cache'), maxBytes: 64 * 1024 * 1024 });
  const dir = join(harness.root, 'npm-written');
  await writeTree(dir, WORKSPACE);
  // Workspace packages only: npm needs no registry for them.
  await promisify(execFile)('npm', ['install', '--offline', '--no-audit', '--no-fund'], { cwd: dir, env: { ...process.env, npm_config_cache: join(harness.root, 'npm-cache') } });
  npmLockfile = await readFile(join(dir, 'package-lock.json'), 'utf8');
}, 60_000);
afterAll(async () => {
  await harness?.close();
});

async function archiveOf(tree: TreeSpec): Promise<string> {
  runs += 1;
  const dir = join(harness.root, 'sources', String(runs));
  await mkdir(dir, { recursive: true });
  await writeTree(dir, tree);
  return (await packSource(dir, { outFile: join(harness.root, `source-${runs}.tar.gz`) })).archive;
}

async function build(tree: TreeSpec, input: Partial<PipelineInput> = {}) {
  const buildId = await harness.newBuild();
  const logs: string[] = [];
  const outcome = await runPipeline(harness.store, harness.artifacts, {
    buildId,
    sourceArchive: await archiveOf(tree),
    workDir: join(harness.root, 'work', String(runs)),
    servicePath: '.',
    install: 'npm ci --offline --no-audit --no-fund',
    env: {},
    onLog: (line) => logs.push(line),
    ...input,
  }).catch((error: unknown) => error);
  return { outcome, logs, steps: await harness.store.buildSteps.list(buildId) };
}

describe('a lockfile that does not match package.json', () => {
  it('is accepted as npm wrote it, and the install runs', async () => {
    const { outcome, steps } = await build({ ...WORKSPACE, 'package-lock.json': npmLockfile });
    expect(outcome).not.toBeInstanceOf(Error);
    expect(steps.find((step) => step.name === 'install')).toMatchObject({ status: 'succeeded' });
  });

  it('fails the install at once, without running it, and says what to fix', async () => {
    const marker = join(harness.root, 'installs.txt');
    const edited = json({ name: 'mono', version: '1.0.0', private: true, workspaces: ['packages/*'], dependencies: { lib: '^1.0.0', 'left-pad': '^1.3.0' } });
    const { outcome, logs, steps } = await build({ ...WORKSPACE, 'package.json': edited, 'package-lock.json': npmLockfile }, { install: `echo ran >> ${marker}` });
    const expected =
      'package-lock.json does not match package.json: "left-pad" (^1.3.0) is in package.json but not in the lockfile; run npm install and commit package-lock.json';
    expect(outcome).toBeInstanceOf(StepFailure);
    expect(outcome).toMatchObject({ message: expected, step: 'install', transient: false });
    expect(steps.find((step) => step.name === 'install')).toMatchObject({ status: 'failed', error: expected, attempt: 1 });
    expect(steps.find((step) => step.name === 'package')).toMatchObject({ status: 'pending' });
    expect(logs).toContain(expected);
    await expect(readFile(marker, 'utf8')).rejects.toThrow(/ENOENT/);
  });

  it('fails even when the install is in the cache: the key follows the lockfile, not package.json', async () => {
    const tree = { ...WORKSPACE, 'package-lock.json': npmLockfile };
    const first = await build(tree, { cache });
    expect(first.steps.find((step) => step.name === 'install')).toMatchObject({ status: 'succeeded', cache: 'miss' });
    const sameLockfile = await build(tree, { cache });
    expect(sameLockfile.steps.find((step) => step.name === 'install')).toMatchObject({ status: 'skipped', cache: 'hit' });

    const newMember = { ...tree, 'packages/new/package.json': json({ name: 'new', version: '1.0.0' }) };
    const { outcome, steps } = await build(newMember, { cache });
    expect(outcome).toMatchObject({ message: expect.stringContaining('the workspace package packages/new is not in the lockfile'), transient: false });
    const install = steps.find((step) => step.name === 'install');
    expect(install?.status).toBe('failed');
    expect(install?.cache).toBeUndefined();
  });

  it('is the code\'s fault when npm ci finds a mismatch the check does not look for: not retried, and npm\'s reason is kept', async () => {
    // A lockfile that lost the link to one workspace package (a merge gone wrong).
    const lockfile = JSON.parse(npmLockfile) as { packages: Record<string, unknown> };
    delete lockfile.packages['node_modules/util'];
    const { outcome, steps } = await build({ ...WORKSPACE, 'package-lock.json': json(lockfile) });
    expect(outcome).toBeInstanceOf(StepFailure);
    const failure = outcome as StepFailure;
    expect(failure.transient).toBe(false);
    expect(failure.message).toMatch(/^build step "install" \(`npm ci --offline --no-audit --no-fund`\) failed with exit code 1: `npm ci` can only install packages when your package\.json and package-lock\.json or npm-shrinkwrap\.json are in sync/);
    expect(failure.message).toContain('Missing: util@1.0.0 from lock file');
    expect(steps.find((step) => step.name === 'install')?.error).toBe(failure.message);
  }, 60_000);

  it('is never taken for network trouble, whatever else the output says', () => {
    const output = ['npm error code EUSAGE', 'npm error `npm ci` can only install packages when your package.json and package-lock.json or npm-shrinkwrap.json are in sync.', 'npm error ECONNRESET'];
    expect(looksTransient('install', output)).toBe(false);
    expect(looksTransient('install', [' ERR_PNPM_OUTDATED_LOCKFILE  Cannot install with "frozen-lockfile"', 'ETIMEDOUT'])).toBe(false);
    expect(looksTransient('install', ['npm error code ECONNRESET'])).toBe(true);
  });
});

describe('which lockfile a service\'s install follows', () => {
  let root: string;
  beforeAll(async () => {
    root = await tempDir('maestro-lockfile-find-');
  });
  afterAll(async () => removeDir(root));

  async function found(tree: TreeSpec, servicePath: string): Promise<string | undefined> {
    const dir = await mkdtemp(join(root, 'case-'));
    await writeTree(dir, tree);
    return (await npmLockfileFor(dir, servicePath))?.lockfilePath;
  }

  it('is the workspace root\'s for a workspace package, with every package to check', async () => {
    const dir = await mkdtemp(join(root, 'ws-'));
    await writeTree(dir, { ...WORKSPACE, 'package-lock.json': npmLockfile, 'packages/lib/README.md': 'lib' });
    const input = await npmLockfileFor(dir, 'packages/lib');
    expect(input?.lockfilePath).toBe('package-lock.json');
    expect(input?.manifests.map((manifest) => manifest.folder)).toEqual(['', 'packages/lib', 'packages/util']);
    expect(checkNpmLockfile(input!)).toEqual({ matches: true });
  });

  it('is the service\'s own, npm-shrinkwrap.json first', async () => {
    const app = { 'apps/web/package.json': '{}', 'apps/web/package-lock.json': '{}', 'package.json': '{}', 'package-lock.json': '{}' };
    expect(await found(app, 'apps/web')).toBe('apps/web/package-lock.json');
    expect(await found({ ...app, 'apps/web/npm-shrinkwrap.json': '{}' }, 'apps/web')).toBe('apps/web/npm-shrinkwrap.json');
  });

  it('is none when the lockfile above is not a workspace holding the service, or another package manager\'s lockfile is beside it', async () => {
    expect(await found({ 'package.json': '{}', 'package-lock.json': '{}', 'api/package.json': '{}' }, 'api')).toBeUndefined();
    expect(await found({ ...WORKSPACE, 'package-lock.json': '{}', 'yarn.lock': '' }, '.')).toBeUndefined();
    expect(await found({ 'package.json': '{}' }, '.')).toBeUndefined();
  });

  it('is none for a lockfile without a package.json beside it', async () => {
    expect(await found({ 'package-lock.json': '{}', 'index.js': '' }, '.')).toBeUndefined();
  });
});
