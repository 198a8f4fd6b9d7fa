import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CGROUP_JOIN_FAILED, cpuWeightFromShares, formatMemory, oomKillCount, outOfMemoryReason, sandboxArgv, stepLaunch, type SandboxSpec } from '../../src/build/sandbox/index.js';
import { MaestroError } from '../../src/common/index.js';

const base: SandboxSpec = {
  command: 'npm run build',
  cwd: '/srv/maestro/work/b1/source/apps/web',
  workDir: '/srv/maestro/work/b1',
  writable: ['/srv/cache/npm'],
  hidden: ['/srv/maestro'],
  network: false,
  env: { PATH: '/usr/bin:/bin', HOME: '/srv/maestro/work/b1/home' },
};

describe('sandboxArgv', () => {
  it('builds the bwrap command: read-only host, private /tmp, hidden data dir, writable work dir and cache, no network', () => {
    expect(sandboxArgv(base)).toEqual({
      command: 'bwrap',
      args: [
        '--ro-bind', '/', '/',
        '--dev', '/dev',
        '--proc', '/proc',
        '--tmpfs', '/tmp',
        '--tmpfs', '/srv/maestro',
        '--bind', '/srv/cache/npm', '/srv/cache/npm',
        '--bind', '/srv/maestro/work/b1', '/srv/maestro/work/b1',
        '--unshare-pid', '--unshare-ipc', '--unshare-uts', '--unshare-net',
        '--die-with-parent', '--new-session',
        '--chdir', '/srv/maestro/work/b1/source/apps/web',
        '--clearenv',
        '--setenv', 'PATH', '/usr/bin:/bin',
        '--setenv', 'HOME', '/srv/maestro/work/b1/home',
        '--', '/bin/sh', '-c', 'npm run build',
      ],
    });
  });

  it('keeps the network when asked, and runs under nice when given', () => {
    const argv = sandboxArgv({ ...base, network: true, nice: 10 });
    expect(argv.command).toBe('nice');
    expect(argv.args.slice(0, 3)).toEqual(['-n', '10', 'bwrap']);
    expect(argv.args).not.toContain('--unshare-net');
  });

  it('normalises paths and refuses relative paths, the root folder and bad variable names', () => {
    expect(sandboxArgv({ ...base, workDir: '/srv/maestro/work/b1/', writable: [], hidden: [] }).args).toContain('/srv/maestro/work/b1');
    const failures: Array<[Partial<SandboxSpec>, RegExp]> = [
      [{ workDir: 'work/b1' }, /the work dir for the sandbox must be an absolute path, got "work\/b1"/],
      [{ writable: ['/'] }, /a writable folder for the sandbox cannot be the root folder "\/"/],
      [{ hidden: ['.maestro'] }, /a hidden folder for the sandbox must be an absolute path/],
      [{ env: { 'NOT-A-NAME': 'x' } }, /"NOT-A-NAME" is not valid/],
      [{ nice: -5 }, /must be a whole number from 0 to 19, got -5/],
    ];
    for (const [change, message] of failures) {
      let caught: unknown;
      try {
        sandboxArgv({ ...base, ...change });
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(MaestroError);
      expect((caught as MaestroError).code).toBe('validation_error');
      expect((caught as MaestroError).message).toMatch(message);
    }
  });
});

/** The mounts an argv sets up, in order, as bwrap applies them. */
function mountsOf(args: string[]): Array<{ kind: string; source?: string; dest: string }> {
  const mounts: Array<{ kind: string; source?: string; dest: string }> = [];
  for (let i = 0; i < args.length && args[i] !== '--'; i += 1) {
    const flag = args[i]!;
    if (flag === '--ro-bind' || flag === '--bind') {
      mounts.push({ kind: flag.slice(2), source: args[i + 1]!, dest: args[i + 2]! });
      i += 2;
    } else if (flag === '--tmpfs' || flag === '--dev' || flag === '--proc') {
      mounts.push({ kind: flag.slice(2), dest: args[i + 1]! });
      i += 1;
    } else if (flag === '--chdir') i += 1;
    else if (flag === '--setenv') i += 2;
  }
  return mounts;
}

const within = (path: string, folder: string): boolean => folder === '/' || path === folder || path.startsWith(`${folder}/`);

/** The mount a path ends up on: the last one at the path or a folder above it. */
function coveringMount(mounts: ReturnType<typeof mountsOf>, path: string): ReturnType<typeof mountsOf>[number] {
  return mounts.filter((mount) => within(path, mount.dest)).at(-1)!;
}

// Few names, so that folders overlap (one inside another, the same path twice) often.
const pathArb = fc.array(fc.constantFrom('a', 'b', 'data', 'work', 'tmp'), { minLength: 1, maxLength: 4 }).map((parts) => `/${parts.join('/')}`);
const specArb = fc.record({
  command: fc.string(),
  cwd: pathArb,
  workDir: pathArb,
  writable: fc.array(pathArb, { maxLength: 3 }),
  hidden: fc.array(pathArb, { maxLength: 3 }),
  network: fc.boolean(),
  env: fc.dictionary(fc.stringMatching(/^[A-Z_][A-Z0-9_]{0,6}$/), fc.string().filter((value) => !value.includes('\0')), { maxKeys: 6 }),
});

describe('sandboxArgv properties', () => {
  it('always binds the work dir and writable folders writable, and nothing else', () => {
    fc.assert(
      fc.property(specArb, (spec) => {
        const mounts = mountsOf(sandboxArgv(spec).args);
        for (const path of [spec.workDir, ...spec.writable]) {
          expect(coveringMount(mounts, path)).toEqual({ kind: 'bind', source: path, dest: path });
        }
        const writable = new Set([spec.workDir, ...spec.writable]);
        for (const mount of mounts.filter((m) => m.kind === 'bind')) expect(writable.has(mount.dest) && mount.source === mount.dest).toBe(true);
        expect(mounts[0]).toEqual({ kind: 'ro-bind', source: '/', dest: '/' });
      }),
    );
  });

  it('never re-exposes a hidden folder except the work dir and writable folders inside it', () => {
    fc.assert(
      fc.property(specArb, fc.array(fc.constantFrom('a', 'keys', 'x'), { maxLength: 2 }), (spec, tail) => {
        const mounts = mountsOf(sandboxArgv(spec).args);
        const suffix = tail.length > 0 ? `/${tail.join('/')}` : '';
        const probes = [...spec.hidden, spec.workDir, ...spec.writable, ...spec.hidden.map((h) => `${h}/secret`)].map((path) => `${path}${suffix}`);
        for (const hidden of spec.hidden) {
          for (const probe of probes.filter((path) => within(path, hidden))) {
            const mount = coveringMount(mounts, probe);
            // Either masked, or a writable folder that is itself inside the hidden one.
            const masked = mount.kind === 'tmpfs';
            const allowed = mount.kind === 'bind' && within(mount.dest, hidden);
            expect(masked || allowed, `${probe} under hidden ${hidden} is on ${JSON.stringify(mount)}`).toBe(true);
          }
        }
      }),
    );
  });

  it('unshares the network exactly when the step has none, and sets every variable exactly once', () => {
    fc.assert(
      fc.property(specArb, (spec) => {
        const { args } = sandboxArgv(spec);
        const options = args.slice(0, args.indexOf('--'));
        expect(options.includes('--unshare-net')).toBe(!spec.network);
        const setenv = options.flatMap((flag, i) => (flag === '--setenv' ? [[options[i + 1], options[i + 2]]] : []));
        expect(setenv.length).toBe(Object.keys(spec.env).length);
        for (const [name, value] of Object.entries(spec.env)) {
          expect(setenv.filter(([n]) => n === name)).toEqual([[name, value]]);
        }
        // The environment starts empty: --clearenv comes before every --setenv.
        const clear = options.indexOf('--clearenv');
        expect(clear).toBeGreaterThanOrEqual(0);
        expect(options.indexOf('--setenv') === -1 || options.indexOf('--setenv') > clear).toBe(true);
        expect(args.slice(args.indexOf('--'))).toEqual(['--', '/bin/sh', '-c', spec.command]);
      }),
    );
  });
});

describe('stepLaunch', () => {
  it('runs the plain shell when nothing wraps the step', () => {
    expect(stepLaunch({ command: 'make' })).toEqual({ command: '/bin/sh', args: ['-c', 'make'] });
  });

  it('joins the cgroups first, then lowers priority, then enters bwrap with its options on fd 3', () => {
    const launch = stepLaunch({
      command: 'make',
      cgroupProcs: ['/cg/memory/maestro/build-1/cgroup.procs', '/cg/cpu/maestro/build-1/cgroup.procs'],
      nice: { path: '/usr/bin/nice', value: 10 },
      ionice: { path: '/usr/bin/ionice', class: 'idle' },
      sandbox: { bwrapPath: '/usr/bin/bwrap', spec: { ...base, env: { TOKEN: 'secret-value' } } },
    });
    expect(launch.command).toBe('/bin/sh');
    const script = launch.args[1]!;
    expect(script).toContain(`exit ${CGROUP_JOIN_FAILED}`);
    expect(launch.args.slice(2)).toEqual([
      'maestro-step', '2', '/cg/memory/maestro/build-1/cgroup.procs', '/cg/cpu/maestro/build-1/cgroup.procs',
      '/usr/bin/nice', '-n', '10',
      '/usr/bin/ionice', '-t', '-c', '3',
      '/usr/bin/bwrap', '--args', '3', '--', '/bin/sh', '-c', 'make',
    ]);
    // Secrets in the environment stay off the command line, which any local user can read.
    expect(launch.args.join(' ')).not.toContain('secret-value');
    const options = launch.fd3!.toString('utf8').split('\0');
    expect(options.at(-1)).toBe('');
    expect(options.slice(-4, -1)).toEqual(['--setenv', 'TOKEN', 'secret-value']);
  });

  it('uses the lowest best-effort I/O level when not idle', () => {
    expect(stepLaunch({ command: 'make', ionice: { path: 'ionice', class: 'best-effort' } }).args).toEqual(['-t', '-c', '2', '-n', '7', '/bin/sh', '-c', 'make']);
  });
});

describe('limits helpers', () => {
  it('reads the kernel OOM kill counter from v1 and v2 files', () => {
    expect(oomKillCount('oom_kill_disable 0\nunder_oom 0\noom_kill 2\n')).toBe(2);
    expect(oomKillCount('low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n')).toBe(1);
    expect(oomKillCount('oom_kill_disable 0\nunder_oom 0\n')).toBeUndefined();
  });

  it('maps CPU shares to cgroup v2 weights', () => {
    expect(cpuWeightFromShares(1024)).toBe(100);
    expect(cpuWeightFromShares(128)).toBe(13);
    expect(cpuWeightFromShares(1)).toBe(1);
    expect(cpuWeightFromShares(10_000_000)).toBe(10_000);
  });

  it('says how far over the limit a killed step went, naming the setting', () => {
    expect(outOfMemoryReason(512 * 1024 ** 2, 'resources.build_memory')).toBe('it used more than 512 MiB (resources.build_memory)');
    expect(outOfMemoryReason(2 * 1024 ** 3)).toBe('it used more than 2 GiB');
    expect(formatMemory(1_500_000)).toBe('1.4 MiB');
  });
});
