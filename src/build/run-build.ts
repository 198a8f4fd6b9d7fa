/**
 * The build: unpack the source, run install then build in the service's folder with a scrubbed
 * environment, and hand back the folder as the artifact. Steps run through `execStep`, the one
 * place a sandbox will wrap.
 */
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { formatDuration, MaestroError } from '../common/index.js';
import { execStep, type OutputStream } from './exec-step.js';
import { LogTail, redactor } from './log-tail.js';
import { stepEnvironment } from './step-env.js';
import { normalizeEntryPath } from './tree-paths.js';
import { unpackSource, type UnpackLimits } from './unpack.js';

export type StepName = 'install' | 'build';

export interface StepResult {
  name: StepName;
  /** null when the step had nothing to run. */
  command: string | null;
  /** null when the step did not run, or was stopped. */
  exitCode: number | null;
  durationMs: number;
  status: 'succeeded' | 'failed' | 'skipped';
}

export interface RunBuildInput {
  /** Path of the source tar.gz (for instance `ContentStore.path(digest)`). */
  sourceArchive: string;
  /** A folder this build owns: the source is unpacked to `<workDir>/source`, HOME is `<workDir>/home`. */
  workDir: string;
  /** The service's folder inside the source: "." or e.g. "apps/web". */
  servicePath: string;
  install?: string;
  command?: string;
  /** Added to the scrubbed environment (PATH, HOME, LANG, TZ, CI). */
  env: Record<string, string>;
  onLog: (line: string, stream: OutputStream) => void;
  /** Aborting kills the running step's whole process group. */
  signal?: AbortSignal;
  /** For the whole build, both steps together. */
  timeoutMs?: number;
  /** Values hidden as *** in everything logged or kept (secrets given in `env`). */
  secretValues?: readonly string[];
  /** Limits for unpacking the source; DEFAULT_SOURCE_LIMITS when not given. */
  limits?: UnpackLimits;
}

export interface RunBuildResult {
  /** The service folder after the build, node_modules and build output included. */
  artifactDir: string;
  /** The whole source tree after the build; a monorepo service needs its workspace beside it. */
  sourceDir: string;
  steps: StepResult[];
}

export const DEFAULT_SOURCE_LIMITS: UnpackLimits = { maxBytes: 1024 ** 3, maxFiles: 200_000 };

export async function runBuild(input: RunBuildInput): Promise<RunBuildResult> {
  const servicePath = normalizeEntryPath(input.servicePath, 'service path');
  const sourceDir = join(input.workDir, 'source');
  const home = join(input.workDir, 'home');
  const env = stepEnvironment(home, input.env);
  // Leftovers of an earlier attempt in the same folder would otherwise mix into this build.
  await rm(sourceDir, { recursive: true, force: true });
  await rm(home, { recursive: true, force: true });
  await mkdir(home, { recursive: true, mode: 0o700 });
  await unpackSource(input.sourceArchive, sourceDir, input.limits ?? DEFAULT_SOURCE_LIMITS);

  const artifactDir = servicePath === '' ? sourceDir : join(sourceDir, servicePath);
  const found = await stat(artifactDir).catch(() => undefined);
  if (!found?.isDirectory()) {
    throw new MaestroError('validation_error', `the service path "${input.servicePath}" is not a folder in the uploaded source; check \`path\` in maestro.yml`, {
      servicePath: input.servicePath,
    });
  }

  const redact = redactor(input.secretValues);
  const deadline = input.timeoutMs === undefined ? undefined : performance.now() + input.timeoutMs;
  const steps: StepResult[] = [];
  for (const [name, command] of [
    ['install', input.install],
    ['build', input.command],
  ] as const) {
    if (command === undefined || command.trim() === '') {
      steps.push({ name, command: null, exitCode: null, durationMs: 0, status: 'skipped' });
      continue;
    }
    const tail = new LogTail();
    const remaining = deadline === undefined ? undefined : deadline - performance.now();
    const outcome =
      remaining !== undefined && remaining <= 0
        ? ({ ended: 'timed_out', exitCode: 0, signal: null, durationMs: 0 } as const)
        : await execStep({
            command,
            cwd: artifactDir,
            env,
            onLine: (line, stream) => {
              const shown = redact(line);
              tail.add(shown);
              input.onLog(shown, stream);
            },
            ...(input.signal ? { signal: input.signal } : {}),
            ...(remaining !== undefined ? { timeoutMs: remaining } : {}),
          });
    const succeeded = outcome.ended === 'exited' && outcome.exitCode === 0;
    steps.push({
      name,
      command,
      exitCode: outcome.ended === 'exited' ? outcome.exitCode : null,
      durationMs: outcome.durationMs,
      status: succeeded ? 'succeeded' : 'failed',
    });
    if (!succeeded) throw stepError(name, outcome, tail, steps, input.timeoutMs ?? 0);
  }
  return { artifactDir, sourceDir, steps };
}

function stepError(
  step: StepName,
  outcome: { ended: 'exited' | 'timed_out' | 'cancelled'; exitCode: number; signal: NodeJS.Signals | null },
  tail: LogTail,
  steps: StepResult[],
  timeoutMs: number,
): MaestroError {
  const logTail = tail.snapshot();
  const last = tail.lastLine === undefined ? '' : `: ${tail.lastLine}`;
  switch (outcome.ended) {
    case 'timed_out':
      return new MaestroError('timeout', `build step "${step}" was stopped: the build took longer than its ${formatDuration(timeoutMs)} limit${last}`, {
        step,
        logTail,
        steps,
      });
    case 'cancelled':
      return new MaestroError('step_failed', `build step "${step}" was cancelled`, { step, cancelled: true, logTail, steps });
    case 'exited': {
      const how = outcome.signal ? `was killed by ${outcome.signal}` : `failed with exit code ${outcome.exitCode}`;
      return new MaestroError('step_failed', `build step "${step}" ${how}${last}`, { step, exitCode: outcome.exitCode, logTail, steps });
    }
  }
}
