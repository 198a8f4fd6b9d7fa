/**
 * Runs one command (a release command, a one-off task) with its output streamed and its tail kept:
 * a non-zero exit is a result for the caller to judge; running out of time or being cancelled is
 * an error.
 */
import { formatDuration, MaestroError } from '../common/index.js';
import { execStep, type OutputStream } from './exec-step.js';
import { LogTail, redactor } from './log-tail.js';
import type { StepLimits, StepPriority, StepSandboxOptions } from './sandbox/index.js';

export interface RunCommandInput {
  command: string;
  cwd: string;
  /** The whole environment of the command. */
  env: Record<string, string>;
  onLog: (line: string, stream: OutputStream) => void;
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Values hidden as *** in everything logged or kept. */
  secretValues?: readonly string[];
  /** Run in bubblewrap by the policy (with `cwd` writable unless `workDir` says otherwise); unsandboxed when not given. */
  sandbox?: StepSandboxOptions;
  /** A lower CPU and I/O priority; normal priority when not given. */
  priority?: StepPriority;
  /** A memory limit, and a time limit (with `timeoutMs` too, the shorter one holds). */
  limits?: StepLimits;
}

export interface RunCommandResult {
  /** 128 + the signal number when a signal ended it. */
  exitCode: number;
  signal: NodeJS.Signals | null;
  durationMs: number;
  /** The last line of output with something on it. */
  lastLine?: string;
  logTail: string[];
  /** True when it failed because the kernel killed part of it for going over `limits.memoryBytes`. */
  outOfMemory?: boolean;
}

export async function runCommand(input: RunCommandInput): Promise<RunCommandResult> {
  const redact = redactor(input.secretValues);
  const tail = new LogTail();
  const outcome = await execStep({
    command: input.command,
    cwd: input.cwd,
    env: input.env,
    onLine: (line, stream) => {
      const shown = redact(line);
      tail.add(shown);
      input.onLog(shown, stream);
    },
    ...(input.signal ? { signal: input.signal } : {}),
    ...(input.timeoutMs !== undefined ? { timeoutMs: input.timeoutMs } : {}),
    ...(input.sandbox ? { sandbox: input.sandbox } : {}),
    ...(input.priority ? { priority: input.priority } : {}),
    ...(input.limits ? { limits: input.limits } : {}),
    // Kept out of the tail: a warning is not what the command said last.
    onNotice: (line) => input.onLog(line, 'stderr'),
  });
  const logTail = tail.snapshot();
  const what = `\`${redact(input.command)}\``;
  if (outcome.ended === 'timed_out') {
    const limits = [input.timeoutMs, input.limits?.timeoutMs].filter((value): value is number => value !== undefined);
    throw new MaestroError('timeout', `${what} did not finish within ${formatDuration(Math.min(...limits))} and was stopped`, { logTail });
  }
  if (outcome.ended === 'cancelled') {
    throw new MaestroError('step_failed', `${what} was cancelled`, { cancelled: true, logTail });
  }
  return {
    exitCode: outcome.exitCode,
    signal: outcome.signal,
    durationMs: outcome.durationMs,
    ...(tail.lastLine !== undefined ? { lastLine: tail.lastLine } : {}),
    logTail,
    ...(outcome.outOfMemory ? { outOfMemory: true } : {}),
  };
}
