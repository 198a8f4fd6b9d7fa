/**
 * A build's pipeline: install -> build -> test -> package, each a recorded step with its own status,
 * exit code and log lines. A resumed build (its runner died) skips the steps that finished in the
 * same work directory and runs the interrupted one again.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MaestroError, errorMessage } from '../common/index.js';
import type { BuildStep, BuildStepName, Store } from '../store/index.js';
import { packArtifact } from './artifact.js';
import type { ContentStore } from './cas.js';
import { runCommand, type RunCommandInput } from './run-command.js';
import { stepEnvironment } from './step-env.js';
import { DEFAULT_SOURCE_LIMITS } from './run-build.js';
import { unpackSource } from './unpack.js';
import {
  cachedToolsOf,
  DEFAULT_OUTPUT_EXCLUDES,
  serviceCacheKeys,
  workFolders,
  type BuildCache,
  type ServiceCacheKeys,
} from './cache/index.js';
import { npmLockfileFor } from './npm-lockfile-files.js';
import { checkNpmLockfile } from './npm-lockfile-sync.js';

export interface PipelineInput {
  buildId: string;
  /** The uploaded source archive (a local file). */
  sourceArchive: string;
  workDir: string;
  servicePath: string;
  install?: string;
  command?: string;
  test?: string;
  env: Record<string, string>;
  secretValues?: readonly string[];
  /** Seconds since the epoch of the commit; builds see it as SOURCE_DATE_EPOCH. */
  sourceDateEpoch?: number;
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Extra options for every step's command (sandbox, priority, limits), passed through as they are. */
  stepOptions?: (step: BuildStepName) => Partial<RunCommandInput>;
  onLog: (line: string, stream: 'stdout' | 'stderr', step: BuildStepName) => void;
  onStep?: (step: BuildStep) => void;
  /** Dependency and build-output cache: a hit skips the install or the build. */
  cache?: BuildCache;
}

export interface PipelineResult {
  artifactDigest: string;
  artifactSize: number;
  steps: BuildStep[];
}

/** Raised for a step that failed; `transient` when running it again may well succeed (network trouble). */
export class StepFailure extends MaestroError {
  constructor(
    message: string,
    readonly step: BuildStepName,
    readonly transient: boolean,
    details: Record<string, unknown>,
  ) {
    super('step_failed', message, details);
  }
}

const TRANSIENT_PATTERNS = [/ECONNRESET/, /ETIMEDOUT/, /EAI_AGAIN/, /ENOTFOUND/, /ECONNREFUSED/, /socket hang up/i, /network (error|timeout)/i, /\b50[234]\b.*registry/i];

/** What package managers print when the lockfile does not match the manifest: the code's fault, whatever else the output says. */
const LOCKFILE_OUT_OF_SYNC_PATTERNS = [
  /can only install packages when your package\.json and package-lock\.json (or npm-shrinkwrap\.json )?are in sync/,
  /ERR_PNPM_OUTDATED_LOCKFILE/,
  /Your lockfile needs to be updated, but yarn was run with `--frozen-lockfile`/,
  /The lockfile would have been modified by this install, which is explicitly forbidden/,
  /lock file .* needs to be updated but --locked was passed/,
  /missing go\.sum entry|updates to go\.mod needed/,
];
/** npm ci's lines naming what the lockfile lacks or gets wrong. */
const NPM_SYNC_DETAIL = /\b(Missing|Invalid): .*lock file/;

export function saysLockfileOutOfSync(line: string): boolean {
  return LOCKFILE_OUT_OF_SYNC_PATTERNS.some((pattern) => pattern.test(line));
}

/** Whether a failed install looks like the network's fault rather than the code's. */
export function looksTransient(step: BuildStepName, logTail: readonly string[]): boolean {
  if (step !== 'install' || logTail.some(saysLockfileOutOfSync)) return false;
  return logTail.some((line) => TRANSIENT_PATTERNS.some((pattern) => pattern.test(line)));
}

/**
 * Watches a step's whole output for a package manager saying the lockfile does not match (npm ci
 * says so above a long usage text, beyond the kept tail), with npm's details after it.
 */
class LockfileComplaints {
  readonly lines: string[] = [];

  note(line: string): void {
    if (this.lines.length === 0) {
      if (saysLockfileOutOfSync(line)) this.lines.push(line.replace(/^npm (error|ERR!) /, '').trim());
      return;
    }
    const detail = NPM_SYNC_DETAIL.exec(line)?.[0];
    if (detail !== undefined && this.lines.length < 4 && !this.lines.includes(detail)) this.lines.push(detail);
  }

  get found(): boolean {
    return this.lines.length > 0;
  }

  get summary(): string {
    const [headline = '', ...details] = this.lines;
    return [headline, details.join('; ')].filter((part) => part !== '').join(' ');
  }
}

/** The pipeline's steps, in order, with the commands the manifest gives. */
export function plannedSteps(commands: { install?: string; command?: string; test?: string }): Array<{ name: BuildStepName; command?: string }> {
  return [
    { name: 'install', ...(commands.install ? { command: commands.install } : {}) },
    { name: 'build', ...(commands.command ? { command: commands.command } : {}) },
    { name: 'test', ...(commands.test ? { command: commands.test } : {}) },
    { name: 'package' },
  ];
}

const doneMarker = (workDir: string, step: BuildStepName) => join(workDir, `.step-${step}.done`);

export async function runPipeline(store: Store, artifacts: ContentStore, input: PipelineInput): Promise<PipelineResult> {
  const { source: sourceDir, home } = workFolders(input.workDir);
  await store.buildSteps.resetUnfinished(input.buildId);
  let steps = await store.buildSteps.plan(input.buildId, plannedSteps(input));

  // A finished step counts only if its output is still here (the same work directory).
  const unpacked = existsSync(join(input.workDir, '.source-ready'));
  if (!unpacked) {
    await rm(input.workDir, { recursive: true, force: true });
    await mkdir(home, { recursive: true, mode: 0o700 });
    await unpackSource(input.sourceArchive, sourceDir, DEFAULT_SOURCE_LIMITS);
    await writeFile(join(input.workDir, '.source-ready'), '');
  }
  const serviceDir = join(sourceDir, input.servicePath);
  if (!(await stat(serviceDir).catch(() => undefined))?.isDirectory()) {
    throw new MaestroError('validation_error', `the service path "${input.servicePath}" is not a folder in the uploaded source; check \`path\` in maestro.yml`);
  }

  // Go and Cargo keep their downloads where the dependency cache finds them (see tool-caches.ts).
  const tools = await cachedToolsOf(sourceDir, input.servicePath);
  const env = stepEnvironment(home, { SOURCE_DATE_EPOCH: String(input.sourceDateEpoch ?? 0), ...input.env }, { tools });
  const deadline = input.timeoutMs === undefined ? undefined : performance.now() + input.timeoutMs;
  const record = async (update: Promise<BuildStep | undefined>): Promise<void> => {
    const step = await update;
    if (step) input.onStep?.(step);
  };

  const keys = input.cache ? await cacheKeys(input, sourceDir, env) : undefined;
  const restored = async (name: BuildStepName): Promise<boolean> => {
    if (!input.cache || !keys) return false;
    if (name === 'install' && keys.dependenciesCacheable) {
      return (await input.cache.restoreDependencies(keys.dependencyKey, input.workDir, keys.dependencyPaths)) === 'hit';
    }
    if (name === 'build') return (await input.cache.restoreOutput(keys.buildOutputKey, serviceDir)) === 'hit';
    return false;
  };

  for (const step of steps) {
    if (step.name === 'package') continue;
    if (step.status === 'succeeded' && existsSync(doneMarker(input.workDir, step.name))) continue;
    if (!step.command) {
      await record(store.buildSteps.finish(input.buildId, step.name, { status: 'skipped' }));
      continue;
    }
    // Checked before the cache too: the dependency key follows the lockfile, not package.json.
    const mismatch = step.name === 'install' ? await lockfileMismatch(sourceDir, input.servicePath) : undefined;
    if (mismatch) {
      // Failed at once: running the install again would not help.
      input.onLog(mismatch.message, 'stderr', step.name);
      await record(store.buildSteps.start(input.buildId, step.name));
      await record(store.buildSteps.finish(input.buildId, step.name, { status: 'failed', error: mismatch.message }));
      throw new StepFailure(mismatch.message, step.name, false, { step: step.name, ...mismatch.details });
    }
    if (await restored(step.name)) {
      input.onLog(`${step.name}: restored from the cache, not run`, 'stdout', step.name);
      await record(store.buildSteps.finish(input.buildId, step.name, { status: 'skipped', cache: 'hit' }));
      await writeFile(doneMarker(input.workDir, step.name), '');
      continue;
    }
    input.signal?.throwIfAborted();
    await record(store.buildSteps.start(input.buildId, step.name));
    const remaining = deadline === undefined ? undefined : Math.max(1, deadline - performance.now());
    const complaints = new LockfileComplaints();
    let result;
    try {
      result = await runCommand({
        command: step.command,
        cwd: serviceDir,
        env,
        onLog: (line, stream) => {
          complaints.note(line);
          input.onLog(line, stream, step.name);
        },
        ...(input.signal ? { signal: input.signal } : {}),
        ...(remaining !== undefined ? { timeoutMs: remaining } : {}),
        ...(input.secretValues ? { secretValues: input.secretValues } : {}),
        ...input.stepOptions?.(step.name),
      });
    } catch (error) {
      const cancelled = input.signal?.aborted === true;
      await record(store.buildSteps.finish(input.buildId, step.name, { status: cancelled ? 'cancelled' : 'failed', error: errorMessage(error) }));
      throw error;
    }
    if (result.exitCode !== 0) {
      const why = complaints.found ? complaints.summary : result.lastLine;
      const message = `build step "${step.name}" (\`${step.command}\`) failed with exit code ${result.exitCode}${why ? `: ${why}` : ''}`;
      await record(store.buildSteps.finish(input.buildId, step.name, { status: 'failed', exitCode: result.exitCode, error: message }));
      const transient = !complaints.found && looksTransient(step.name, result.logTail);
      throw new StepFailure(message, step.name, transient, { step: step.name, exitCode: result.exitCode, logTail: result.logTail });
    }
    const cached = await saveToCache(input, keys, step.name, input.workDir, serviceDir);
    await record(store.buildSteps.finish(input.buildId, step.name, { status: 'succeeded', exitCode: 0, ...(cached ? { cache: 'miss' as const } : {}) }));
    await writeFile(doneMarker(input.workDir, step.name), '');
  }

  // The whole tree is the artifact: a service in a monorepo runs beside the workspace packages it uses.
  await record(store.buildSteps.start(input.buildId, 'package'));
  const artifact = await packArtifact(sourceDir, artifacts);
  await store.artifacts.record({ digest: artifact.digest, sizeBytes: artifact.size, path: artifacts.path(artifact.digest) });
  await record(store.buildSteps.finish(input.buildId, 'package', { status: 'succeeded' }));
  steps = await store.buildSteps.list(input.buildId);
  return { artifactDigest: artifact.digest, artifactSize: artifact.size, steps };
}

async function cacheKeys(input: PipelineInput, sourceDir: string, env: Record<string, string>): Promise<ServiceCacheKeys | undefined> {
  try {
    return await serviceCacheKeys({
      sourceRoot: sourceDir,
      servicePath: input.servicePath,
      ...(input.install ? { install: input.install } : {}),
      ...(input.command ? { command: input.command } : {}),
      env: input.env,
      toolEnv: env,
    });
  } catch (error) {
    input.onLog(`the build cache is not used for this build: ${errorMessage(error)}`, 'stderr', 'install');
    return undefined;
  }
}

/** Why the npm lockfile that the service's install follows does not match package.json, if it does not. */
async function lockfileMismatch(sourceDir: string, servicePath: string): Promise<{ message: string; details: Record<string, unknown> } | undefined> {
  const lockfile = await npmLockfileFor(sourceDir, servicePath);
  const check = lockfile && checkNpmLockfile(lockfile);
  if (!check || check.matches) return undefined;
  return { message: check.message, details: { lockfile: lockfile.lockfilePath, mismatches: check.mismatches } };
}

/** Keep what a step produced for the next build with the same inputs; a cache problem never fails a build. */
async function saveToCache(
  input: PipelineInput,
  keys: ServiceCacheKeys | undefined,
  step: BuildStepName,
  workDir: string,
  serviceDir: string,
): Promise<boolean> {
  if (!input.cache || !keys) return false;
  try {
    if (step === 'install' && keys.dependenciesCacheable) {
      await input.cache.saveDependencies(keys.dependencyKey, workDir, keys.dependencyPaths);
      return true;
    }
    if (step === 'build') {
      const excluded = new Set<string>(DEFAULT_OUTPUT_EXCLUDES);
      const outputs = (await readdir(serviceDir)).filter((name) => !excluded.has(name));
      if (outputs.length > 0) await input.cache.saveOutput(keys.buildOutputKey, serviceDir, outputs);
      return true;
    }
  } catch (error) {
    input.onLog(`could not save ${step} output to the cache: ${errorMessage(error)}`, 'stderr', step);
  }
  return false;
}

