/**
 * The dependency cache in real pipeline runs: what the install step leaves (node_modules, Go's
 * module cache, Cargo's downloads) is saved on the first build and put back on the next one with
 * the same lockfiles, without running the install; Go's and Cargo's folders never reach the
 * artifact. The last two run the real go and cargo (skipped, with a note, where they are missing),
 * in the sandbox when bubblewrap works here, with the network only for the install.
 */
import { execFile } from 'node:child_process';
import { lstat, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packSource, runPipeline, type PipelineInput, type PipelineResult } from '../../src/build/index.js';
import { BuildCache } from '../../src/build/cache/index.js';
import { detectSandbox } from '../../src/build/sandbox/index.js';
import type { BuildStepName } from '../../src/store/index.js';
import { writeGoModuleProxy } from './go-module-proxy.js';
import { openPipelineHarness, type PipelineHarness } from './pipeline-harness.js';
import { writeTree, type TreeSpec } from './tree-helpers.js';

const run = promisify(execFile);
const installed = (command: string, args: string[]): Promise<boolean> => run(command, args).then(() => true, () => false);
const [hasGo, hasCargo, detection] = await Promise.all([installed('go', ['version']), installed('cargo', ['--version']), detectSandbox()]);
if (!hasGo) console.warn('the real Go dependency-cache test is skipped: go is not installed');
if (!hasCargo) console.warn('the real Cargo dependency-cache test is skipped: cargo is not installed');
const sandboxNote = detection.available ? 'in the sandbox' : `unsandboxed: ${detection.reason}`;

let harness: PipelineHarness;
let cache: BuildCache;
let runs = 0;

beforeAll(async () => {
  harness = await openPipelineHarness('maestro-dependency-cache-');
  cache = new BuildCache({ root: join(harness.root, 'cache'), maxBytes: 512 * 1024 * 1024 });
});
afterAll(async () => {
  await harness?.close();
});

async function sourceArchive(name: string, tree: TreeSpec): Promise<string> {
  const dir = join(harness.root, 'sources', name);
  await mkdir(dir, { recursive: true });
  await writeTree(dir, tree);
  return (await packSource(dir, { outFile: join(harness.root, `${name}.tar.gz`) })).archive;
}

interface Built extends PipelineResult {
  workDir: string;
  logs: string[];
}

async function build(archive: string, input: Partial<PipelineInput> & { fixture?: string } = {}): Promise<Built> {
  runs += 1;
  const workDir = join(harness.root, 'work', String(runs));
  const logs: string[] = [];
  const { fixture, ...rest } = input;
  const result = await runPipeline(harness.store, harness.artifacts, {
    buildId: await harness.newBuild(),
    sourceArchive: archive,
    workDir,
    servicePath: '.',
    env: {},
    cache,
    onLog: (line) => logs.push(line),
    ...(fixture !== undefined ? { stepOptions: sandboxed(workDir, fixture) } : {}),
    ...rest,
  });
  return { ...result, workDir, logs };
}

/**
 * Steps in the sandbox when it works here: the network and the local "registry" (`fixture`) for
 * the install only, so a build that needed a download it did not get would fail.
 */
function sandboxed(workDir: string, fixture: string): PipelineInput['stepOptions'] {
  if (!detection.available) return undefined;
  return (step: BuildStepName) => ({
    sandbox: { policy: { mode: 'require' }, hidden: [], writable: step === 'install' ? [fixture] : [], network: step === 'install', workDir, detection },
  });
}

const install = (result: PipelineResult) => result.steps.find((step) => step.name === 'install');
const topLevel = (paths: string[]) => paths.filter((path) => !path.includes('/'));
const exists = (path: string) => lstat(path).then(() => true, () => false);

describe('the dependency cache in a pipeline', () => {
  it('restores node_modules without running the install again', async () => {
    const marker = join(harness.root, 'node-installs.txt');
    const archive = await sourceArchive('node', {
      'package.json': JSON.stringify({ name: 'web', dependencies: { dep: '^1.0.0' } }),
      'package-lock.json': JSON.stringify({ lockfileVersion: 3, packages: { '': { name: 'web', dependencies: { dep: '^1.0.0' } } } }),
      'index.js': 'require("dep")',
    });
    const steps = { install: `echo ran >> ${marker} && mkdir -p node_modules/dep && echo "module.exports = 1" > node_modules/dep/index.js` };
    const first = await build(archive, { ...steps, command: 'echo first > out.txt' });
    expect(install(first)).toMatchObject({ status: 'succeeded', cache: 'miss' });
    const second = await build(archive, { ...steps, command: 'cat node_modules/dep/index.js > out.txt' });
    expect(install(second)).toMatchObject({ status: 'skipped', cache: 'hit' });
    expect(await readFile(marker, 'utf8')).toBe('ran\n');
    expect(await readFile(join(second.workDir, 'source/out.txt'), 'utf8')).toBe('module.exports = 1\n');
    expect(await harness.artifactPaths(second.artifactDigest)).toContain('node_modules/dep/index.js');
  });

  it('keeps Go\'s module cache and installed tools: a miss, then a hit without the install, and never in the artifact', async () => {
    const marker = join(harness.root, 'go-installs.txt');
    const archive = await sourceArchive('go', { 'go.mod': 'module example.com/app\n\ngo 1.19\n', 'main.go': 'package main\n' });
    const module = '"$GOMODCACHE/example.com/greet@v1.0.0"';
    const steps = {
      install: [
        `echo ran >> ${marker}`,
        `mkdir -p ${module} "$GOPATH/bin"`,
        `echo "package greet" > ${module}/greet.go`,
        `printf '#!/bin/sh\\necho tool ran\\n' > "$GOPATH/bin/tool" && chmod +x "$GOPATH/bin/tool"`,
        // What the build step compiles is not kept with the downloads.
        'mkdir -p "$GOCACHE" && echo compiled > "$GOCACHE/entry"',
      ].join(' && '),
    };
    const first = await build(archive, { ...steps, command: 'echo first > out.txt' });
    expect(install(first)).toMatchObject({ status: 'succeeded', cache: 'miss' });

    const second = await build(archive, { ...steps, command: `cat ${module}/greet.go > out.txt && "$GOPATH/bin/tool" >> out.txt` });
    expect(install(second)).toMatchObject({ status: 'skipped', cache: 'hit' });
    expect(await readFile(marker, 'utf8')).toBe('ran\n');
    expect(await readFile(join(second.workDir, 'source/out.txt'), 'utf8')).toBe('package greet\ntool ran\n');
    expect(await exists(join(second.workDir, 'home/go/pkg/mod/example.com/greet@v1.0.0/greet.go'))).toBe(true);
    expect(await exists(join(second.workDir, 'home/.cache/go-build/entry'))).toBe(false);
    expect(await harness.artifactPaths(second.artifactDigest)).toEqual(['go.mod', 'main.go', 'out.txt']);
  });

  it('keeps Cargo\'s index, crate archives, git databases and installed tools, not the sources it unpacks again', async () => {
    const marker = join(harness.root, 'cargo-installs.txt');
    const archive = await sourceArchive('cargo', { 'Cargo.toml': '[package]\nname = "app"\nversion = "0.1.0"\n', 'Cargo.lock': 'version = 4\n', 'src/main.rs': 'fn main() {}\n' });
    const folders = ['registry/index/local', 'registry/cache/local', 'registry/src/local', 'git/db/dep', 'bin'];
    const steps = {
      install: [`echo ran >> ${marker}`, ...folders.map((folder) => `mkdir -p "$CARGO_HOME/${folder}" && echo ${folder} > "$CARGO_HOME/${folder}/file"`)].join(' && '),
    };
    const first = await build(archive, { ...steps, command: 'echo first > out.txt' });
    expect(install(first)).toMatchObject({ status: 'succeeded', cache: 'miss' });

    const second = await build(archive, { ...steps, command: 'cat "$CARGO_HOME/git/db/dep/file" "$CARGO_HOME/bin/file" > out.txt' });
    expect(install(second)).toMatchObject({ status: 'skipped', cache: 'hit' });
    expect(await readFile(marker, 'utf8')).toBe('ran\n');
    expect(await readFile(join(second.workDir, 'source/out.txt'), 'utf8')).toBe('git/db/dep\nbin\n');
    const cargoHome = join(second.workDir, 'home/.cargo');
    expect(await exists(join(cargoHome, 'registry/index/local/file'))).toBe(true);
    expect(await exists(join(cargoHome, 'registry/cache/local/file'))).toBe(true);
    expect(await exists(join(cargoHome, 'registry/src'))).toBe(false);
    expect(await harness.artifactPaths(second.artifactDigest)).toEqual(['Cargo.lock', 'Cargo.toml', 'out.txt', 'src', 'src/main.rs']);
  });

  it(`runs go mod download for real, then builds offline from the restored module cache (${sandboxNote})`, async ({ skip }) => {
    if (!hasGo) skip('go is not installed');
    const proxy = join(harness.root, 'goproxy');
    const goSum = await writeGoModuleProxy(proxy, {
      path: 'example.com/greet',
      version: 'v1.0.0',
      files: { 'go.mod': 'module example.com/greet\n\ngo 1.19\n', 'greet.go': 'package greet\n\nfunc Hello() string { return "hello from greet" }\n' },
    });
    const archive = await sourceArchive('go-real', {
      'go.mod': 'module example.com/app\n\ngo 1.19\n\nrequire example.com/greet v1.0.0\n',
      'go.sum': goSum,
      'main.go': 'package main\n\nimport "example.com/greet"\n\nfunc main() { println(greet.Hello()) }\n',
    });
    // The build step cannot reach the proxy (outside the sandbox's view, and GOPROXY=off besides).
    const steps = { install: 'go mod download', env: { GOPROXY: `file://${proxy}`, GOSUMDB: 'off' }, fixture: proxy };
    const first = await build(archive, { ...steps, command: 'GOPROXY=off go build -o app . && ./app 2> greeting.txt' });
    expect(install(first)).toMatchObject({ status: 'succeeded', cache: 'miss' });
    const downloaded = join(first.workDir, 'home/go/pkg/mod/example.com/greet@v1.0.0');
    // -modcacherw: an unprivileged Maestro can remove what Go downloaded.
    expect((await lstat(downloaded)).mode & 0o200).toBe(0o200);

    const second = await build(archive, { ...steps, command: 'GOPROXY=off go build -o app . && ./app 2> greeting.txt && echo built offline' });
    expect(install(second)).toMatchObject({ status: 'skipped', cache: 'hit' });
    expect(second.logs).toContain('install: restored from the cache, not run');
    expect(await readFile(join(second.workDir, 'source/greeting.txt'), 'utf8')).toBe('hello from greet\n');
    expect(await harness.artifactPaths(second.artifactDigest)).toEqual(['app', 'go.mod', 'go.sum', 'greeting.txt', 'main.go']);
  }, 120_000);

  it(`runs cargo fetch for real, then builds offline from the restored git database (${sandboxNote})`, async ({ skip }) => {
    if (!hasCargo) skip('cargo is not installed');
    // A git dependency from a local repository: fetched into CARGO_HOME like a crates.io download.
    const dep = join(harness.root, 'crates', 'dep');
    await writeTree(dep, { 'Cargo.toml': '[package]\nname = "dep"\nversion = "0.1.0"\nedition = "2021"\n', 'src/lib.rs': 'pub fn greet() -> &\'static str { "hello from dep" }\n' });
    const git = (...args: string[]) => run('git', ['-c', 'user.name=maestro', '-c', 'user.email=maestro@localhost', ...args], { cwd: dep });
    await git('init', '-q');
    await git('add', '.');
    await git('commit', '-qm', 'dep');
    const app: TreeSpec = {
      'Cargo.toml': `[package]\nname = "app"\nversion = "0.1.0"\nedition = "2021"\n\n[dependencies]\ndep = { git = "file://${dep}" }\n`,
      'src/main.rs': 'fn main() { println!("{}", dep::greet()); }\n',
    };
    const locking = join(harness.root, 'locking');
    await writeTree(locking, app);
    await run('cargo', ['generate-lockfile'], { cwd: locking, env: { ...process.env, CARGO_HOME: join(harness.root, 'locking-cargo-home') } });
    const archive = await sourceArchive('cargo-real', { ...app, 'Cargo.lock': await readFile(join(locking, 'Cargo.lock'), 'utf8') });

    const steps = { install: 'cargo fetch', fixture: join(harness.root, 'crates') };
    const first = await build(archive, { ...steps, command: 'cargo build --offline --release && ./target/release/app > greeting.txt' });
    expect(install(first)).toMatchObject({ status: 'succeeded', cache: 'miss' });

    const second = await build(archive, { ...steps, command: 'cargo build --offline --release && ./target/release/app > greeting.txt && echo built offline' });
    expect(install(second)).toMatchObject({ status: 'skipped', cache: 'hit' });
    expect(await readFile(join(second.workDir, 'source/greeting.txt'), 'utf8')).toBe('hello from dep\n');
    expect(topLevel(await harness.artifactPaths(second.artifactDigest))).toEqual(['Cargo.lock', 'Cargo.toml', 'greeting.txt', 'src', 'target']);
  }, 180_000);
});
