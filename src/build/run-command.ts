/**
 * Runs one command (a release command, a one-off task) with its output streamed and its tail kept:
 * a non-zero exit is a result for the caller to judge; running out of time or being cancelled is
 * an error.
 */
import { formatDuration, MaestroError } from '../common/index.js';
import { execStep, type OutputStream } from './exec-step.js';
import { LogTail, redactor } from './log-tail.js';

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
}

export interface RunCommandResult {
  /** 128 + the signal number when a signal ended it. */
  exitCode: number;
  signal: NodeJS.Signals | null;
  durationMs: number;
  /** The last line of output with something on it. */
  lastLine?: string;
  logTail: string[];
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
  });
  const logTail = tail.snapshot();
  const what = `\`${redact(input.command)}\``;
  if (outcome.ended === 'timed_out') {
    throw new MaestroError('timeout', `${what} did not finish within ${formatDuration(input.timeoutMs ?? 0)} and was stopped`, { logTail });
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
  };
}
