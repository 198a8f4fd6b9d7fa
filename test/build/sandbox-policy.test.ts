/** When builds run sandboxed: detection on the real machine and on fake ones, and the auto/require/off policy. */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packSource, runBuild, runCommand, type RunBuildInput } from '../../src/build/index.js';
import { decideSandbox, detectSandbox, UNSANDBOXED_WARNING, type SandboxDetection } from '../../src/build/sandbox/index.js';
import { MaestroError } from '../../src/common/index.js';
import { removeDir, tempDir, writeTree } from './tree-helpers.js';

let base: string;
let archive: string;
beforeAll(async () => {
  base = await tempDir('maestro-sandbox-policy-');
  await writeTree(join(base, 'app'), { 'index.js': '' });
  archive = (await packSource(join(base, 'app'), { outFile: join(base, 'source.tar.gz') })).archive;
});
afterAll(async () => {
  if (base) await removeDir(base);
});

const notInstalled: SandboxDetection = { available: false, installed: false, reason: 'bubblewrap (bwrap) is not installed: it was not found on PATH' };
const forbidden: SandboxDetection = { available: false, installed: true, reason: 'bubblewrap (bwrap) is installed but cannot create a sandbox here: bwrap: No permissions to create new namespace' };

function build(workName: string, change: Partial<RunBuildInput>): { lines: string[]; run: Promise<unknown> } {
  const lines: string[] = [];
  const run = runBuild({
    sourceArchive: archive,
    workDir: join(base, workName),
    servicePath: '.',
    install: 'echo installing',
    command: 'echo building',
    env: {},
    onLog: (line) => lines.push(line),
    ...change,
  });
  return { lines, run };
}

describe('detectSandbox', () => {
  it('reports bwrap missing from PATH', async () => {
    const empty = join(base, 'empty-path');
    await mkdir(empty, { recursive: true });
    expect(await detectSandbox({ searchPath: empty })).toEqual(notInstalled);
  });

  it('reports a bwrap that is installed but cannot create a sandbox, with its own words', async () => {
    const fake = join(base, 'fake-bwrap');
    await writeTree(fake, {
      bwrap: { exec: '#!/bin/sh\nif [ "$1" = --version ]; then echo "bubblewrap 0.8.0"; exit 0; fi\necho "bwrap: No permissions to create new namespace" >&2\nexit 1\n' },
    });
    expect(await detectSandbox({ searchPath: fake })).toEqual(forbidden);
  });

  it('finds the real bwrap once per process when it works here', async () => {
    const first = detectSandbox();
    expect(detectSandbox()).toBe(first);
    const detection = await first;
    if (!detection.available) {
      console.warn(`no working bwrap here: ${detection.reason}`);
      return;
    }
    expect(detection.version).toMatch(/^\d+\.\d+/);
    expect(detection.bwrapPath).toMatch(/\/bwrap$/);
  });
});

describe('decideSandbox', () => {
  const available: SandboxDetection = { available: true, version: '0.8.0', bwrapPath: '/usr/bin/bwrap' };
  it('sandboxes whenever bwrap works, unless switched off', () => {
    expect(decideSandbox({ mode: 'auto' }, available)).toEqual({ sandboxed: true, bwrapPath: '/usr/bin/bwrap' });
    expect(decideSandbox({ mode: 'require' }, available)).toEqual({ sandboxed: true, bwrapPath: '/usr/bin/bwrap' });
    expect(decideSandbox({ mode: 'off' }, available)).toEqual({ sandboxed: false });
    expect(decideSandbox({ mode: 'off' }, undefined)).toEqual({ sandboxed: false });
  });

  it('warns in auto mode, saying why and how to fix it', () => {
    expect(decideSandbox({ mode: 'auto' }, notInstalled)).toEqual({ sandboxed: false, warning: UNSANDBOXED_WARNING });
    const warning = (decideSandbox({ mode: 'auto' }, forbidden) as { warning: string }).warning;
    expect(warning).toMatch(/^warning: bubblewrap \(bwrap\) is installed but cannot create a sandbox here: bwrap: No permissions/);
    expect(warning).toContain('runs unsandboxed');
    expect(warning).toContain('--require-sandbox');
  });

  it('refuses in require mode', () => {
    expect(() => decideSandbox({ mode: 'require' }, notInstalled)).toThrow(/apt-get install bubblewrap/);
    expect(() => decideSandbox({ mode: 'require' }, forbidden)).toThrow(/No permissions to create new namespace.*bwrap --ro-bind/);
  });
});

describe('the policy in a build', () => {
  it("'require' refuses before unpacking anything, naming the fix", async () => {
    const { run } = build('require', { sandbox: { policy: { mode: 'require' }, hidden: [], writable: [], detection: notInstalled } });
    const error = (await run.catch((caught: unknown) => caught)) as MaestroError;
    expect(error).toBeInstanceOf(MaestroError);
    expect(error.code).toBe('unavailable');
    expect(error.message).toBe(
      'this Maestro only runs builds in a sandbox (--require-sandbox), but bubblewrap (bwrap) is not installed: it was not found on PATH. Install it with `apt-get install bubblewrap`, or start Maestro without --require-sandbox to allow unsandboxed builds.',
    );
    expect(existsSync(join(base, 'require', 'source'))).toBe(false);
  });

  it("'auto' without bwrap runs the build with the warning at the top of every build's log, once", async () => {
    for (const name of ['auto-1', 'auto-2']) {
      const { lines, run } = build(name, { sandbox: { policy: { mode: 'auto' }, hidden: [], writable: [], detection: notInstalled } });
      await run;
      expect(lines).toEqual([UNSANDBOXED_WARNING, 'installing', 'building']);
    }
  });

  it("'auto' with a failing build keeps the warning out of the error message", async () => {
    const { run } = build('auto-fail', { command: 'exit 2', sandbox: { policy: { mode: 'auto' }, hidden: [], writable: [], detection: forbidden } });
    await expect(run).rejects.toMatchObject({ message: 'build step "build" failed with exit code 2' });
  });

  it("'off' runs quietly", async () => {
    const { lines, run } = build('off', { sandbox: { policy: { mode: 'off' }, hidden: [], writable: [] } });
    await run;
    expect(lines).toEqual(['installing', 'building']);
  });

  it('refuses a mode it does not know', async () => {
    const { run } = build('bad-mode', { sandbox: { policy: { mode: 'sometimes' as 'auto' }, hidden: [], writable: [] } });
    await expect(run).rejects.toMatchObject({ code: 'validation_error', message: expect.stringMatching(/"auto", "require" or "off", got "sometimes"/) });
    expect(existsSync(join(base, 'bad-mode', 'source'))).toBe(false);
  });

  it('runCommand logs the warning but does not count it as the last line', async () => {
    const lines: string[] = [];
    const result = await runCommand({
      command: 'exit 3',
      cwd: base,
      env: {},
      onLog: (line) => lines.push(line),
      sandbox: { policy: { mode: 'auto' }, hidden: [], writable: [], network: false, detection: notInstalled },
    });
    expect(lines).toEqual([UNSANDBOXED_WARNING]);
    expect(result).toMatchObject({ exitCode: 3, logTail: [] });
    expect(result.lastLine).toBeUndefined();
  });
});
