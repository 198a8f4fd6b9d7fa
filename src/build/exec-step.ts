/**
 * Runs one shell command as its own process group and streams its output line by line. This is
 * the single place a build step touches the operating system: the sandbox, the lower priority and
 * the memory limit all wrap it here.
 */
import { spawn } from 'node:child_process';
import { constants, setPriority } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { Readable, Writable } from 'node:stream';
import { MaestroError } from '../common/index.js';
import { LineSplitter } from './line-splitter.js';
import { prepareStep, type PreparedStep, type StepLimits, type StepPriority, type StepSandboxOptions } from './sandbox/index.js';

export type OutputStream = 'stdout' | 'stderr';

export interface ExecStepInput {
  command: string;
  cwd: string;
  /** The whole environment of the command: nothing of Maestro's own leaks in. */
  env: Record<string, string>;
  onLine: (line: string, stream: OutputStream) => void;
  /** Aborting kills the whole process group. */
  signal?: AbortSignal;
  timeoutMs?: number;
  /** How long the group gets between SIGTERM and SIGKILL. */
  killGraceMs?: number;
  /** Run in bubblewrap by the policy; unsandboxed as before when not given. */
  sandbox?: StepSandboxOptions;
  /** Lower the step's CPU and I/O priority (and give it a small CPU share); normal priority when not given. */
  priority?: StepPriority;
  /** A memory limit (through a cgroup) and a time limit; with `timeoutMs` too, the shorter one holds. */
  limits?: StepLimits;
  /** Lines about how the step runs (unsandboxed, a limit not in force), before its output; onLine on stderr when not given. */
  onNotice?: (line: string) => void;
}

export interface ExecStepOutcome {
  /** The exit status; 128 + the signal number when a signal ended the command, as shells report it. */
  exitCode: number;
  signal: NodeJS.Signals | null;
  durationMs: number;
  /** Why it ended: on its own, or because it ran out of time or was cancelled. */
  ended: 'exited' | 'timed_out' | 'cancelled';
  /** True when it failed because the kernel killed part of it for going over `limits.memoryBytes`. */
  outOfMemory?: boolean;
}

const DEFAULT_KILL_GRACE_MS = 2000;
/** After the shell exits, how long stray holders of its output pipes may keep them open. */
const CLOSE_WAIT_MS = 1000;

export async function execStep(input: ExecStepInput): Promise<ExecStepOutcome> {
  const started = performance.now();
  const cancelled: ExecStepOutcome = { exitCode: 128 + constants.signals.SIGTERM, signal: null, durationMs: 0, ended: 'cancelled' };
  if (input.signal?.aborted) return cancelled;
  const prepared = await prepareStep({
    command: input.command,
    cwd: input.cwd,
    env: input.env,
    ...(input.sandbox ? { sandbox: input.sandbox } : {}),
    ...(input.priority ? { priority: input.priority } : {}),
    ...(input.limits?.memoryBytes !== undefined ? { memoryBytes: input.limits.memoryBytes } : {}),
  });
  try {
    const notice = input.onNotice ?? ((line: string) => input.onLine(line, 'stderr'));
    for (const note of prepared.notes) notice(note);
    if (input.signal?.aborted) return cancelled;
    const limits = [input.timeoutMs, input.limits?.timeoutMs].filter((value): value is number => value !== undefined);
    const outcome = await runProcess(input, prepared, started, limits.length > 0 ? Math.min(...limits) : undefined);
    if (prepared.cgroups?.memoryLimited && outcome.ended === 'exited' && outcome.exitCode !== 0 && (await prepared.cgroups.outOfMemory())) {
      return { ...outcome, outOfMemory: true };
    }
    return outcome;
  } finally {
    await prepared.cgroups?.remove();
  }
}

function runProcess(input: ExecStepInput, prepared: PreparedStep, started: number, timeoutMs: number | undefined): Promise<ExecStepOutcome> {
  const { launch } = prepared;
  return new Promise((resolve, reject) => {
    // detached: the first process leads a new process group, so everything it starts can be killed together.
    const child = spawn(launch.command, launch.args, {
      cwd: input.cwd,
      env: input.env,
      detached: true,
      stdio: launch.fd3 ? ['ignore', 'pipe', 'pipe', 'pipe'] : ['ignore', 'pipe', 'pipe'],
    });
    // Piped by the stdio option above, whichever form it took.
    const childOut = child.stdout as Readable;
    const childErr = child.stderr as Readable;
    const fd3 = child.stdio[3] as Writable | null | undefined;
    if (launch.fd3 && fd3) {
      // The sandbox options (the environment, secrets included) go through a pipe, never the command line.
      fd3.on('error', () => undefined);
      fd3.end(launch.fd3);
    }
    if (prepared.niceAfterSpawn !== undefined && child.pid !== undefined) {
      try {
        setPriority(child.pid, prepared.niceAfterSpawn);
      } catch {
        // Gone already, or not allowed: the step runs at normal priority.
      }
    }
    let ended: ExecStepOutcome['ended'] = 'exited';
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let settled = false;
    let closed = false;
    let logError: unknown;
    const timers: NodeJS.Timeout[] = [];

    const killGroup = (signal: NodeJS.Signals): void => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, signal);
      } catch {
        // ESRCH: the group is already gone.
      }
    };
    const stop = (why: 'timed_out' | 'cancelled'): void => {
      if (ended !== 'exited' || exit) return;
      ended = why;
      killGroup('SIGTERM');
      timers.push(setTimeout(() => killGroup('SIGKILL'), input.killGraceMs ?? DEFAULT_KILL_GRACE_MS));
    };
    const emit = (stream: OutputStream) => (line: string) => {
      if (logError !== undefined) return;
      try {
        input.onLine(line, stream);
      } catch (error) {
        // A broken log sink must not crash the process from inside a stream event; stop the step instead.
        logError = error;
        stop('cancelled');
      }
    };
    const stdout = new LineSplitter(emit('stdout'));
    const stderr = new LineSplitter(emit('stderr'));
    childOut.on('data', (chunk: Buffer) => stdout.push(chunk));
    childErr.on('data', (chunk: Buffer) => stderr.push(chunk));

    const onAbort = (): void => stop('cancelled');
    input.signal?.addEventListener('abort', onAbort, { once: true });
    if (timeoutMs !== undefined) timers.push(setTimeout(() => stop('timed_out'), Math.max(0, timeoutMs)));

    const finish = (): void => {
      if (settled || !exit) return;
      settled = true;
      for (const timer of timers) clearTimeout(timer);
      input.signal?.removeEventListener('abort', onAbort);
      stdout.end();
      stderr.end();
      if (logError !== undefined) {
        reject(logError);
        return;
      }
      const signalNumber = exit.signal ? constants.signals[exit.signal] : undefined;
      resolve({
        exitCode: exit.code ?? 128 + (signalNumber ?? 0),
        signal: exit.signal,
        durationMs: Math.round(performance.now() - started),
        ended,
      });
    };

    child.on('error', (error) => {
      if (settled) return;
      settled = true;
      for (const timer of timers) clearTimeout(timer);
      input.signal?.removeEventListener('abort', onAbort);
      reject(new MaestroError('step_failed', `could not start \`${input.command}\` in "${input.cwd}": ${error.message}`, { cwd: input.cwd }));
    });
    child.on('exit', (code, signal) => {
      exit = { code, signal };
      // Whatever the command left running in the background goes with it.
      killGroup('SIGKILL');
      if (closed) {
        finish();
        return;
      }
      timers.push(
        setTimeout(() => {
          childOut.destroy();
          childErr.destroy();
          fd3?.destroy();
          finish();
        }, CLOSE_WAIT_MS),
      );
    });
    child.on('close', () => {
      closed = true;
      finish();
    });
  });
}
