/**
 * The whole command line of a step, as a pure function: join the step's cgroups, lower its
 * priority, enter the sandbox, run the shell. Each wrapper acts and then execs the next, so the
 * step's first process already has every setting before it can start anything of its own (setting
 * them on the pid after spawn would miss children started in the first milliseconds).
 */
import { bwrapOptions, checkNice, type Argv, type SandboxSpec } from './sandbox-argv.js';

export type IoniceClass = 'idle' | 'best-effort';

export interface LaunchPlan {
  /** The step's shell command. */
  command: string;
  /** When given, the step runs in bubblewrap found at `bwrapPath`. */
  sandbox?: { bwrapPath: string; spec: Omit<SandboxSpec, 'command' | 'nice'> };
  nice?: { path: string; value: number };
  ionice?: { path: string; class: IoniceClass };
  /** `cgroup.procs` files the step joins before anything else runs. */
  cgroupProcs?: string[];
}

export interface Launch extends Argv {
  /**
   * NUL-separated bwrap options to hand over on file descriptor 3 (`--args 3`): they hold the
   * environment, secrets included, which must not sit on a command line any local user can read.
   */
  fd3?: Buffer;
}

/** Exit status of the first wrapper when it cannot join the step's cgroup. */
export const CGROUP_JOIN_FAILED = 125;

// `$$` is the wrapper shell itself: it joins, then execs into the rest, keeping its pid.
const JOIN_SCRIPT =
  'n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ > "$1" || { echo "maestro: could not join the step cgroup $1" >&2; exit ' +
  CGROUP_JOIN_FAILED +
  '; }; shift; n=$((n - 1)); done; exec "$@"';

export function stepLaunch(plan: LaunchPlan): Launch {
  let argv: string[] = ['/bin/sh', '-c', plan.command];
  let fd3: Buffer | undefined;
  if (plan.sandbox) {
    const options = bwrapOptions(plan.sandbox.spec);
    fd3 = Buffer.from(options.map((option) => `${option}\0`).join(''));
    argv = [plan.sandbox.bwrapPath, '--args', '3', '--', ...argv];
  }
  if (plan.ionice) {
    // -t: a kernel or container that refuses I/O priorities must not stop the build.
    const level = plan.ionice.class === 'idle' ? ['-c', '3'] : ['-c', '2', '-n', '7'];
    argv = [plan.ionice.path, '-t', ...level, ...argv];
  }
  if (plan.nice) {
    checkNice(plan.nice.value);
    argv = [plan.nice.path, '-n', String(plan.nice.value), ...argv];
  }
  const procs = plan.cgroupProcs ?? [];
  if (procs.length > 0) argv = ['/bin/sh', '-c', JOIN_SCRIPT, 'maestro-step', String(procs.length), ...procs, ...argv];
  return { command: argv[0]!, args: argv.slice(1), ...(fd3 ? { fd3 } : {}) };
}
