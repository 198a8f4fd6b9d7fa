/**
 * Runs one git command and collects what it printed. Git gets a clean environment (a user's GIT_DIR or
 * a hook's object directories in Maestro's own environment must never leak into another repository's
 * commands) plus what the caller adds, such as a push's quarantine.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { MaestroError } from '../common/index.js';

export interface GitResult {
  code: number;
  stdout: Buffer;
  stderr: string;
}

/** What every git child gets: enough to run, stable English messages, never a prompt. */
export function gitEnvironment(extra: Record<string, string> = {}): Record<string, string> {
  const base: Record<string, string> = { PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin', LC_ALL: 'C', GIT_TERMINAL_PROMPT: '0' };
  if (process.env.HOME) base.HOME = process.env.HOME;
  return { ...base, ...extra };
}

/** `git --git-dir <gitDir> <args>`; a non-zero exit is returned, not thrown (callers know which codes mean "no"). */
export function runGit(gitDir: string, args: string[], env: Record<string, string> = {}): Promise<GitResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', ['--git-dir', gitDir, ...args], { env: gitEnvironment(env), stdio: ['ignore', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', (error) => reject(new MaestroError('unavailable', `cannot run git (is it installed and on PATH?): ${error.message}`)));
    child.on('close', (code, signal) => resolve({ code: code ?? 128 + (signal ? constants.signals[signal] : 0), stdout: Buffer.concat(stdout), stderr: stderr.trim() }));
  });
}

/** Like runGit, but any non-zero exit is an error that says what failed and git's own reason. */
export async function gitOutput(gitDir: string, args: string[], env: Record<string, string> = {}): Promise<string> {
  const result = await runGit(gitDir, args, env);
  if (result.code !== 0) throw gitFailure(args, result);
  return result.stdout.toString('utf8');
}

export function gitFailure(args: string[], result: GitResult): MaestroError {
  return new MaestroError('internal', `git ${args.join(' ')} failed (exit ${result.code}): ${result.stderr || 'no message'}`);
}
