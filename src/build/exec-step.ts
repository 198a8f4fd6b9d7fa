/**
 * Runs one shell command as its own process group and streams its output line by line. This is
 * the single place a build step touches the operating system, so a sandbox can wrap it later.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { performance } from 'node:perf_hooks';
import { MaestroError } from '../common/index.js';
import { LineSplitter } from './line-splitter.js';

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
}

export interface ExecStepOutcome {
  /** The exit status; 128 + the signal number when a signal ended the command, as shells report it. */
  exitCode: number;
  signal: NodeJS.Signals | null;
  durationMs: number;
  /** Why it ended: on its own, or because it ran out of time or was cancelled. */
  ended: 'exited' | 'timed_out' | 'cancelled';
}

const DEFAULT_KILL_GRACE_MS = 2000;
/** After the shell exits, how long stray holders of its output pipes may keep them open. */
const CLOSE_WAIT_MS = 1000;

export function execStep(input: ExecStepInput): Promise<ExecStepOutcome> {
  const started = performance.now();
  if (input.signal?.aborted) {
    return Promise.resolve({ exitCode: 128 + constants.signals.SIGTERM, signal: null, durationMs: 0, ended: 'cancelled' });
  }
  return new Promise((resolve, reject) => {
    // detached: the shell leads a new process group, so everything it starts can be killed together.
    const child = spawn('/bin/sh', ['-c', input.command], { cwd: input.cwd, env: input.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
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
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));

    const onAbort = (): void => stop('cancelled');
    input.signal?.addEventListener('abort', onAbort, { once: true });
    if (input.timeoutMs !== undefined) timers.push(setTimeout(() => stop('timed_out'), Math.max(0, input.timeoutMs)));

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
          child.stdout.destroy();
          child.stderr.destroy();
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
