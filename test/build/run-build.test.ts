import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { packSource, runBuild, runCommand, type RunBuildInput } from '../../src/build/index.js';
import { MaestroError } from '../../src/common/index.js';
import { removeDir, tempDir, writeTree, type TreeSpec } from './tree-helpers.js';

let base: string;
beforeEach(async () => {
  base = await tempDir('maestro-run-build-');
});
afterEach(async () => {
  delete process.env.MAESTRO_TEST_PARENT_SECRET;
  await removeDir(base);
});

async function sourceArchive(spec: TreeSpec): Promise<string> {
  const app = join(base, 'app');
  await writeTree(app, spec);
  return (await packSource(app, { outFile: join(base, 'source.tar.gz') })).archive;
}

function collectLogs(): { lines: Array<[string, string]>; onLog: RunBuildInput['onLog'] } {
  const lines: Array<[string, string]> = [];
  return { lines, onLog: (line, stream) => lines.push([stream, line]) };
}

/** Alive and not a zombie waiting to be reaped. */
function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('runBuild', () => {
  it('unpacks, runs install then build in a scrubbed environment, and returns the service folder', async () => {
    process.env.MAESTRO_TEST_PARENT_SECRET = 'do-not-leak';
    const archive = await sourceArchive({ 'package.json': '{}', 'src/main.js': 'main' });
    const workDir = join(base, 'work');
    const logs = collectLogs();
    const result = await runBuild({
      sourceArchive: archive,
      workDir,
      servicePath: '.',
      install: 'mkdir -p node_modules/dep && echo dep > node_modules/dep/index.js && echo installed',
      command: `node -e "const e = process.env; require('fs').writeFileSync('env.json', JSON.stringify(e)); console.error('built')"`,
      env: { GREETING: 'hello' },
      onLog: logs.onLog,
    });
    expect(result.artifactDir).toBe(join(workDir, 'source'));
    expect(result.steps.map(({ name, status, exitCode, command }) => ({ name, status, exitCode, hasCommand: command !== null }))).toEqual([
      { name: 'install', status: 'succeeded', exitCode: 0, hasCommand: true },
      { name: 'build', status: 'succeeded', exitCode: 0, hasCommand: true },
    ]);
    expect(logs.lines).toEqual([
      ['stdout', 'installed'],
      ['stderr', 'built'],
    ]);
    expect(await readFile(join(result.artifactDir, 'node_modules/dep/index.js'), 'utf8')).toBe('dep\n');
    const env = JSON.parse(await readFile(join(result.artifactDir, 'env.json'), 'utf8')) as Record<string, string>;
    expect(env).toMatchObject({ GREETING: 'hello', HOME: join(workDir, 'home'), LANG: 'C.UTF-8', TZ: 'UTC', CI: '1', SOURCE_DATE_EPOCH: '0' });
    expect(env.MAESTRO_TEST_PARENT_SECRET).toBeUndefined();
    expect(Object.keys(env).filter((name) => !['GREETING', 'HOME', 'LANG', 'TZ', 'CI', 'SOURCE_DATE_EPOCH', 'PATH', 'PWD', 'SHLVL', '_'].includes(name))).toEqual([]);
  });

  it('runs in the service folder of a monorepo and skips steps it was not given', async () => {
    const archive = await sourceArchive({ 'apps/web/index.js': 'web', 'apps/api/index.js': 'api' });
    const result = await runBuild({
      sourceArchive: archive,
      workDir: join(base, 'work'),
      servicePath: 'apps/web',
      command: 'pwd > where.txt',
      env: {},
      onLog: () => undefined,
    });
    expect(result.artifactDir).toBe(join(base, 'work', 'source', 'apps', 'web'));
    expect((await readFile(join(result.artifactDir, 'where.txt'), 'utf8')).trim()).toBe(result.artifactDir);
    expect(result.steps[0]).toEqual({ name: 'install', command: null, exitCode: null, durationMs: 0, status: 'skipped' });
    expect(result.steps[1]!.status).toBe('succeeded');
  });

  it('fails with the step, exit code, last line and log tail when a step fails, and does not run the next', async () => {
    const archive = await sourceArchive({ 'index.js': '' });
    const logs = collectLogs();
    const attempt = runBuild({
      sourceArchive: archive,
      workDir: join(base, 'work'),
      servicePath: '.',
      // One stream only: the order of lines across stdout and stderr is up to the scheduler.
      install: 'echo resolving >&2; echo "npm ERR! 404 left-pad not found" >&2; echo >&2; exit 3',
      command: 'touch should-not-exist',
      env: {},
      onLog: logs.onLog,
    });
    const error = (await attempt.catch((caught: unknown) => caught)) as MaestroError;
    expect(error).toBeInstanceOf(MaestroError);
    expect(error.code).toBe('step_failed');
    expect(error.message).toBe('build step "install" failed with exit code 3: npm ERR! 404 left-pad not found');
    expect(error.details).toMatchObject({
      step: 'install',
      exitCode: 3,
      logTail: ['resolving', 'npm ERR! 404 left-pad not found', ''],
      steps: [{ name: 'install', status: 'failed', exitCode: 3 }],
    });
    expect(existsSync(join(base, 'work', 'source', 'should-not-exist'))).toBe(false);
  });

  it('kills the whole process group when aborted', async () => {
    const archive = await sourceArchive({ 'index.js': '' });
    const controller = new AbortController();
    const workDir = join(base, 'work');
    const pidsFile = join(workDir, 'source', 'pids');
    const attempt = runBuild({
      sourceArchive: archive,
      workDir,
      servicePath: '.',
      // A background child that ignores SIGTERM, and the shell itself waiting on a sleep.
      command: `(trap '' TERM; sleep 60) & echo "$! $$" > pids.tmp && mv pids.tmp pids; sleep 60`,
      env: {},
      onLog: () => undefined,
      signal: controller.signal,
    });
    await waitFor(() => existsSync(pidsFile));
    const pids = readFileSync(pidsFile, 'utf8').trim().split(' ').map(Number);
    expect(pids.every(isAlive)).toBe(true);
    const started = Date.now();
    controller.abort();
    await expect(attempt).rejects.toMatchObject({ code: 'step_failed', message: 'build step "build" was cancelled', details: { cancelled: true } });
    await waitFor(() => !pids.some(isAlive));
    expect(Date.now() - started).toBeLessThan(4000);
  });

  it('stops a build that runs past its time limit', async () => {
    const archive = await sourceArchive({ 'index.js': '' });
    const started = Date.now();
    await expect(
      runBuild({ sourceArchive: archive, workDir: join(base, 'work'), servicePath: '.', command: 'echo working; sleep 30', env: {}, onLog: () => undefined, timeoutMs: 400 }),
    ).rejects.toMatchObject({ code: 'timeout', message: expect.stringMatching(/^build step "build" was stopped: the build took longer than its 400ms limit: working$/) });
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('hides secret values in everything it logs and keeps', async () => {
    const archive = await sourceArchive({ 'index.js': '' });
    const logs = collectLogs();
    const error = (await runBuild({
      sourceArchive: archive,
      workDir: join(base, 'work'),
      servicePath: '.',
      command: 'echo "token is $API_TOKEN"; exit 1',
      env: { API_TOKEN: 'tok-1234567890' },
      secretValues: ['tok-1234567890'],
      onLog: logs.onLog,
    }).catch((caught: unknown) => caught)) as MaestroError;
    expect(logs.lines).toEqual([['stdout', 'token is ***']]);
    expect(error.message).toBe('build step "build" failed with exit code 1: token is ***');
    expect(JSON.stringify(error.details)).not.toContain('tok-1234567890');
  });

  it('refuses service paths that climb out or do not exist, and bad variable names', async () => {
    const archive = await sourceArchive({ 'apps/web/index.js': '' });
    const input = { sourceArchive: archive, workDir: join(base, 'work'), env: {}, onLog: () => undefined };
    await expect(runBuild({ ...input, servicePath: '../elsewhere' })).rejects.toThrow(/service path "\.\.\/elsewhere" has a "\.\." component/);
    await expect(runBuild({ ...input, servicePath: 'apps/mobile' })).rejects.toThrow(/service path "apps\/mobile" is not a folder in the uploaded source/);
    await expect(runBuild({ ...input, servicePath: '.', env: { 'BAD-NAME': 'x' } })).rejects.toThrow(/"BAD-NAME" is not valid/);
  });
});

describe('runCommand', () => {
  it('returns the exit code and last line with the environment it was given', async () => {
    const logs = collectLogs();
    const result = await runCommand({ command: 'echo "$WHO"; printf "no newline at the end"; exit 4', cwd: base, env: { WHO: 'me' }, onLog: logs.onLog });
    expect(result).toMatchObject({ exitCode: 4, signal: null, lastLine: 'no newline at the end', logTail: ['me', 'no newline at the end'] });
    expect(logs.lines).toEqual([
      ['stdout', 'me'],
      ['stdout', 'no newline at the end'],
    ]);
  });

  it('reports a signal as 128 + its number and throws when out of time', async () => {
    expect((await runCommand({ command: 'kill -9 $$', cwd: base, env: {}, onLog: () => undefined })).exitCode).toBe(137);
    await expect(runCommand({ command: 'sleep 30', cwd: base, env: {}, onLog: () => undefined, timeoutMs: 200 })).rejects.toMatchObject({ code: 'timeout' });
  });
});
