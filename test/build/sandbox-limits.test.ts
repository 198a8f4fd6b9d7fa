/**
 * Builds give way to the apps: a lower CPU and I/O priority, and a memory limit the kernel
 * enforces. The memory tests need writable cgroups and are skipped, with the reason in their
 * names, where there are none.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execStep, packSource, runBuild, runCommand, type ExecStepInput } from '../../src/build/index.js';
import { detectSandbox, openStepCgroups, prepareStep, DEFAULT_CGROUP_ROOT } from '../../src/build/sandbox/index.js';
import { MaestroError } from '../../src/common/index.js';
import { removeDir, tempDir, writeTree } from './tree-helpers.js';

const MiB = 1024 ** 2;
const detection = await detectSandbox();

/** Whether this machine lets us put a memory limit on a step. */
async function memoryCgroupsWork(): Promise<string | undefined> {
  const opened = await openStepCgroups({ memoryBytes: 64 * MiB });
  await opened.cgroups?.remove();
  return opened.cgroups?.memoryLimited ? undefined : (opened.notes[0] ?? 'no memory cgroup');
}
const noMemoryCgroups = await memoryCgroupsWork();
if (noMemoryCgroups) console.warn(`memory limit tests skipped: ${noMemoryCgroups}`);

let base: string;
let archive: string;
beforeAll(async () => {
  base = await tempDir('maestro-sandbox-limits-');
  await writeTree(join(base, 'app'), { 'index.js': '' });
  archive = (await packSource(join(base, 'app'), { outFile: join(base, 'source.tar.gz') })).archive;
});
afterAll(async () => {
  if (base) await removeDir(base);
});

async function run(command: string, change: Partial<ExecStepInput> = {}): Promise<string[]> {
  const lines: string[] = [];
  const outcome = await execStep({ command, cwd: base, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, onLine: (line) => lines.push(line), ...change });
  expect(outcome).toMatchObject({ ended: 'exited', exitCode: 0 });
  return lines;
}

/** The nice value (field 19 of /proc/<pid>/stat) and I/O class of the step's own processes. */
const PRIORITY_PROBE = `cut -d' ' -f19 /proc/self/stat; ionice`;

const sandboxed = detection.available ? [false, true] : [false];

describe('step priority', () => {
  for (const inSandbox of sandboxed) {
    it(`runs the step at the configured nice value and I/O class${inSandbox ? ', sandboxed' : ''}`, async () => {
      const sandbox = inSandbox ? { sandbox: { policy: { mode: 'require' as const }, hidden: [], writable: [], network: false, detection } } : {};
      expect(await run(PRIORITY_PROBE, { priority: { nice: 7, ioniceClass: 'idle' }, ...sandbox })).toEqual(['7', 'idle']);
      expect(await run(PRIORITY_PROBE, { priority: { nice: 12 }, ...sandbox })).toEqual(['12', 'best-effort: prio 7']);
    });
  }

  it('leaves the priority alone when not asked', async () => {
    expect((await run(PRIORITY_PROBE))[0]).toBe(String(readNice()));
  });

  it.skipIf(availableParallelism() < 2 || !existsSync(join(DEFAULT_CGROUP_ROOT, 'cpuset', 'cpuset.cpus')))(
    'keeps builds off the first core, which stays for serving apps and the router',
    async () => {
      const [line] = await run('grep Cpus_allowed_list /proc/self/status', { priority: { nice: 10 } });
      expect(line).toMatch(new RegExp(`^Cpus_allowed_list:\\s+1-${availableParallelism() - 1}$|^Cpus_allowed_list:\\s+1$`));
      // Without a lower priority the step is an ordinary process and may use every core.
      const [ordinary] = await run('grep Cpus_allowed_list /proc/self/status');
      expect(ordinary).not.toMatch(/:\s+1$/);
    },
  );

  // cgroup v1 has a folder per controller, v2 one for all; the group's own cpu.idle is there since Linux 5.15.
  const unified = existsSync(join(DEFAULT_CGROUP_ROOT, 'cgroup.controllers'));
  const cpuRoot = unified ? DEFAULT_CGROUP_ROOT : join(DEFAULT_CGROUP_ROOT, 'cpu');
  it.skipIf(!existsSync(join(cpuRoot, 'cpu.idle')) && !existsSync(join(cpuRoot, 'maestro', 'cpu.idle')))(
    'runs builds in an idle CPU group, so a serving process that wakes up takes the core from them at once',
    async () => {
      const [line] = await run(`grep -E '${unified ? '^0::' : '^[0-9]+:([a-z,]*,)?cpu(,[a-z,]*)?:'}' /proc/self/cgroup`, { priority: { nice: 10 } });
      const group = line!.slice(line!.lastIndexOf(':') + 1);
      expect(group).toMatch(/^\/maestro\/build-[0-9a-f]+$/);
      // All builds together are the idle one: that is what they are weighed as against the apps.
      expect(readFileSync(join(cpuRoot, 'maestro', 'cpu.idle'), 'utf8').trim()).toBe('1');
    },
  );

  it('builds at nice 10 by default, and at what they are given', async () => {
    for (const [name, priority, expected] of [
      ['default', undefined, '10'],
      ['given', { nice: 15 }, '15'],
    ] as const) {
      const lines: string[] = [];
      await runBuild({
        sourceArchive: archive,
        workDir: join(base, `priority-${name}`),
        servicePath: '.',
        command: 'nice',
        env: {},
        onLog: (line) => lines.push(line),
        ...(priority ? { priority } : {}),
      });
      expect(lines).toEqual([expected]);
    }
  });

  it('refuses a nice value that would raise the step above the apps, or is not one', async () => {
    for (const nice of [-5, 20, 2.5]) {
      await expect(execStep({ command: 'true', cwd: base, env: {}, onLine: () => undefined, priority: { nice } })).rejects.toMatchObject({
        code: 'validation_error',
        message: expect.stringMatching(/nice\) must be a whole number from 0 to 19/),
      });
    }
  });
});

/** This process's own nice value, which a step inherits when nothing lowers it. */
function readNice(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  // Fields after the command name, which is in parentheses and may hold spaces; nice is field 19.
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
}

const ALLOCATE_200_MB = `node -e "const kept = []; for (let i = 0; i < 200; i++) kept.push(Buffer.alloc(1024 * 1024, 1)); console.log('allocated')"`;
const memoryNote = noMemoryCgroups ? ` (skipped: ${noMemoryCgroups})` : '';

describe.skipIf(noMemoryCgroups !== undefined)(`memory limit${memoryNote}`, () => {
  const leftovers = (): string[] => {
    const parent = join(DEFAULT_CGROUP_ROOT, 'memory', 'maestro');
    return existsSync(parent) ? readdirSync(parent).filter((name) => name.startsWith('build-')) : [];
  };

  it('kills a build step that goes over it, and says so', async () => {
    const before = leftovers();
    const lines: string[] = [];
    const error = (await runBuild({
      sourceArchive: archive,
      workDir: join(base, 'memory'),
      servicePath: '.',
      install: 'echo small',
      command: ALLOCATE_200_MB,
      env: {},
      limits: { memoryBytes: 64 * MiB, memorySetting: 'resources.build_memory' },
      onLog: (line) => lines.push(line),
      ...(detection.available ? { sandbox: { policy: { mode: 'require' }, hidden: [], writable: [], detection } } : {}),
    }).catch((caught: unknown) => caught)) as MaestroError;
    expect(error).toBeInstanceOf(MaestroError);
    expect(error.code).toBe('step_failed');
    expect(error.message).toBe('build step "build" was killed: it used more than 64 MiB (resources.build_memory)');
    expect(error.details).toMatchObject({ step: 'build', outOfMemory: true, steps: [{ name: 'install', status: 'succeeded' }, { name: 'build', status: 'failed' }] });
    expect(lines[0]).toBe('small');
    // Each step's cgroup is gone once it ends.
    expect(leftovers()).toEqual(before);
  });

  it('lets a step under it run, and tells runCommand callers when one went over', async () => {
    expect(await run(`node -e "console.log('fine')"`, { limits: { memoryBytes: 256 * MiB } })).toEqual(['fine']);
    const result = await runCommand({ command: ALLOCATE_200_MB, cwd: base, env: { PATH: process.env.PATH ?? '' }, onLog: () => undefined, limits: { memoryBytes: 64 * MiB } });
    expect(result.exitCode).toBe(137);
    expect(result.outOfMemory).toBe(true);
  });

  it('does not blame memory for an ordinary failure', async () => {
    const outcome = await execStep({ command: 'exit 137', cwd: base, env: {}, onLine: () => undefined, limits: { memoryBytes: 64 * MiB } });
    expect(outcome.exitCode).toBe(137);
    expect(outcome.outOfMemory).toBeUndefined();
  });
});

describe('limits without cgroups', () => {
  it('notes that the memory limit is not enforced when cgroups are not writable', async () => {
    const prepared = await prepareStep({ command: 'true', cwd: base, env: {}, memoryBytes: 64 * MiB, cgroupRoot: '/proc/no-cgroups-here' });
    expect(prepared.cgroups).toBeUndefined();
    expect(prepared.notes).toEqual([expect.stringMatching(/^warning: memory limit not enforced: cgroups are not writable \(E[A-Z]+ on \/proc\/no-cgroups-here\/memory/)]);
  });

  it('refuses a memory limit that is not a number of bytes', async () => {
    await expect(execStep({ command: 'true', cwd: base, env: {}, onLine: () => undefined, limits: { memoryBytes: -1 } })).rejects.toThrow(
      /memory limit must be a positive whole number of bytes, got -1/,
    );
  });

  it('stops a command at the shorter of its time limits', async () => {
    await expect(runCommand({ command: 'sleep 30', cwd: base, env: {}, onLog: () => undefined, timeoutMs: 20_000, limits: { timeoutMs: 200 } })).rejects.toMatchObject({
      code: 'timeout',
      message: '`sleep 30` did not finish within 200ms and was stopped',
    });
  });
});
