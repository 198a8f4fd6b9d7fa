/**
 * The build: unpack the source, run install then build in the service's folder with a scrubbed
 * environment, and hand back the folder as the artifact. Steps run through `execStep`: sandboxed
 * by the policy (network for install only, by default), at a lower priority, within the limits.
 */
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { formatDuration, MaestroError } from '../common/index.js';
import { execStep, type ExecStepOutcome, type OutputStream } from './exec-step.js';
import { LogTail, redactor } from './log-tail.js';
import {
  checkSandboxPolicy,
  decideSandbox,
  DEFAULT_NICE,
  detectSandbox,
  outOfMemoryReason,
  type StepLimits,
  type StepPriority,
  type StepSandboxOptions,
} from './sandbox/index.js';
import { cachedToolsOf, workFolders } from './cache/index.js';
import { checkEnvironment, stepEnvironment } from './step-env.js';
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
  /** Added to the scrubbed environment (PATH, HOME, LANG, TZ, CI, SOURCE_DATE_EPOCH). */
  env: Record<string, string>;
  onLog: (line: string, stream: OutputStream) => void;
  /** Aborting kills the running step's whole process group. */
  signal?: AbortSignal;
  /** For the whole build, both steps together (with `limits.timeoutMs` too, the shorter one holds). */
  timeoutMs?: number;
  /** Values hidden as *** in everything logged or kept (secrets given in `env`). */
  secretValues?: readonly string[];
  /**
   * Limits for unpacking the source (DEFAULT_SOURCE_LIMITS for what is not given), the memory
   * limit of each step, and the time limit of the whole build.
   */
  limits?: Partial<UnpackLimits> & StepLimits;
  /** Run the steps in bubblewrap by this policy, with `workDir` writable; unsandboxed when not given. */
  sandbox?: BuildSandboxOptions;
  /** Which steps may use the network when sandboxed: install does and build does not, by default. */
  network?: { install: boolean; build: boolean };
  /** The steps' CPU and I/O priority; nice 10 and best-effort I/O at its lowest level by default. */
  priority?: StepPriority;
  /** SOURCE_DATE_EPOCH for the steps, in seconds (the commit time), so tools write reproducible dates; 0 by default. */
  sourceDateEpoch?: number;
}

export type BuildSandboxOptions = Omit<StepSandboxOptions, 'network' | 'workDir'>;

export const DEFAULT_BUILD_NETWORK = { install: true, build: false } as const;
export const DEFAULT_BUILD_PRIORITY: StepPriority = { nice: DEFAULT_NICE, ioniceClass: 'best-effort' };

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
  const { source: sourceDir, home } = workFolders(input.workDir);
  const sourceDateEpoch = input.sourceDateEpoch ?? 0;
  if (!Number.isSafeInteger(sourceDateEpoch) || sourceDateEpoch < 0) {
    throw new MaestroError('validation_error', `sourceDateEpoch must be a whole number of seconds since 1970, got ${String(sourceDateEpoch)}`);
  }
  checkEnvironment(input.env);
  const sandbox = await buildSandbox(input.sandbox);
  // Leftovers of an earlier attempt in the same folder would otherwise mix into this build.
  await rm(sourceDir, { recursive: true, force: true });
  await rm(home, { recursive: true, force: true });
  await mkdir(home, { recursive: true, mode: 0o700 });
  await unpackSource(input.sourceArchive, sourceDir, {
    maxBytes: input.limits?.maxBytes ?? DEFAULT_SOURCE_LIMITS.maxBytes,
    maxFiles: input.limits?.maxFiles ?? DEFAULT_SOURCE_LIMITS.maxFiles,
  });

  // Go and Cargo download under HOME in the work folder, never into the artifact (see tool-caches.ts).
  const tools = await cachedToolsOf(sourceDir, servicePath);
  const env = stepEnvironment(home, { SOURCE_DATE_EPOCH: String(sourceDateEpoch), ...input.env }, { tools });

  const artifactDir = servicePath === '' ? sourceDir : join(sourceDir, servicePath);
  const found = await stat(artifactDir).catch(() => undefined);
  if (!found?.isDirectory()) {
    throw new MaestroError('validation_error', `the service path "${input.servicePath}" is not a folder in the uploaded source; check \`path\` in maestro.yml`, {
      servicePath: input.servicePath,
    });
  }

  const redact = redactor(input.secretValues);
  const timeouts = [input.timeoutMs, input.limits?.timeoutMs].filter((value): value is number => value !== undefined);
  const timeoutMs = timeouts.length > 0 ? Math.min(...timeouts) : undefined;
  const deadline = timeoutMs === undefined ? undefined : performance.now() + timeoutMs;
  const network = input.network ?? DEFAULT_BUILD_NETWORK;
  const memoryBytes = input.limits?.memoryBytes;
  // Said once per build, however many steps run.
  const noted = new Set<string>();
  const onNotice = (line: string): void => {
    if (noted.has(line)) return;
    noted.add(line);
    input.onLog(line, 'stderr');
  };
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
    const outcome: ExecStepOutcome =
      remaining !== undefined && remaining <= 0
        ? { ended: 'timed_out', exitCode: 0, signal: null, durationMs: 0 }
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
            ...(sandbox ? { sandbox: { ...sandbox, network: network[name], workDir: input.workDir } } : {}),
            priority: input.priority ?? DEFAULT_BUILD_PRIORITY,
            ...(memoryBytes !== undefined ? { limits: { memoryBytes } } : {}),
            onNotice,
          });
    const succeeded = outcome.ended === 'exited' && outcome.exitCode === 0;
    steps.push({
      name,
      command,
      exitCode: outcome.ended === 'exited' ? outcome.exitCode : null,
      durationMs: outcome.durationMs,
      status: succeeded ? 'succeeded' : 'failed',
    });
    if (!succeeded) {
      const memory = outcome.outOfMemory && memoryBytes !== undefined ? outOfMemoryReason(memoryBytes, input.limits?.memorySetting) : undefined;
      throw stepError(name, outcome, tail, steps, timeoutMs ?? 0, memory);
    }
  }
  return { artifactDir, sourceDir, steps };
}

/** Checks the policy before any work is done, and asks the machine about bubblewrap once per build. */
async function buildSandbox(options: BuildSandboxOptions | undefined): Promise<BuildSandboxOptions | undefined> {
  if (!options) return undefined;
  checkSandboxPolicy(options.policy);
  if (options.policy.mode === 'off') return options;
  const detection = options.detection ?? (await detectSandbox());
  decideSandbox(options.policy, detection);
  return { ...options, detection };
}

function stepError(
  step: StepName,
  outcome: { ended: 'exited' | 'timed_out' | 'cancelled'; exitCode: number; signal: NodeJS.Signals | null },
  tail: LogTail,
  steps: StepResult[],
  timeoutMs: number,
  /** Why the kernel stopped it, when it went over its memory limit. */
  outOfMemory?: string,
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
      if (outOfMemory) {
        return new MaestroError('step_failed', `build step "${step}" was killed: ${outOfMemory}`, { step, exitCode: outcome.exitCode, outOfMemory: true, logTail, steps });
      }
      const how = outcome.signal ? `was killed by ${outcome.signal}` : `failed with exit code ${outcome.exitCode}`;
      return new MaestroError('step_failed', `build step "${step}" ${how}${last}`, { step, exitCode: outcome.exitCode, logTail, steps });
    }
  }
}
