/**
 * Everything a step needs before it starts: the sandbox decision, its priority wrappers, its
 * cgroups, and the lines to tell the step log about what could not be put in force. The effects
 * (detection, folders, cgroups) are here; what to run is decided by `stepLaunch`.
 */
import { mkdir, realpath } from 'node:fs/promises';
import { MaestroError } from '../../common/index.js';
import { openStepCgroups, type StepCgroups } from './cgroups.js';
import { detectSandbox, type SandboxDetection } from './detect.js';
import { findTool } from './find-executable.js';
import { stepLaunch, type IoniceClass, type Launch } from './launch.js';
import { checkSandboxPolicy, decideSandbox, type SandboxPolicy } from './policy.js';
import { checkNice, type SandboxSpec } from './sandbox-argv.js';

export interface StepSandboxOptions {
  policy: SandboxPolicy;
  /** Folders the step must not see (the data directory); the writable folders under them stay visible. */
  hidden: string[];
  /** Folders besides the work dir the step may write (cache folders); created when missing. */
  writable: string[];
  /** Whether the step may use the network. */
  network: boolean;
  /** The step's own writable folder; its working folder when not given. */
  workDir?: string;
  /** What detectSandbox() found, when the caller already asked; asked here otherwise. */
  detection?: SandboxDetection;
}

export interface StepPriority {
  /** 0 (normal) to 19 (lowest); 10 by default. */
  nice: number;
  /** I/O priority: 'idle' only uses the disk when nothing else does; 'best-effort' is its lowest level. */
  ioniceClass?: IoniceClass;
}

export interface StepLimits {
  /** Enforced through a cgroup when cgroups are writable; noted in the step log when not. */
  memoryBytes?: number;
  timeoutMs?: number;
  /** Where a user changes the memory limit, named when a step goes over it (e.g. "resources.build_memory"). */
  memorySetting?: string;
}

export const DEFAULT_NICE = 10;
/** A build's CPU share against the 1024 of a normal process: it gets the CPU the apps leave. */
export const STEP_CPU_SHARES = 128;

export interface PrepareStepInput {
  command: string;
  cwd: string;
  env: Record<string, string>;
  sandbox?: StepSandboxOptions;
  priority?: StepPriority;
  memoryBytes?: number;
  /** Where the cgroup file systems are mounted; DEFAULT_CGROUP_ROOT when not given. */
  cgroupRoot?: string;
}

export interface PreparedStep {
  launch: Launch;
  /** Warnings for the step log, before the step's own output. */
  notes: string[];
  cgroups?: StepCgroups;
  /** Set with os.setPriority on the pid when no `nice` program was found to start the step with. */
  niceAfterSpawn?: number;
}

export async function prepareStep(input: PrepareStepInput): Promise<PreparedStep> {
  if (input.priority) checkNice(input.priority.nice);
  if (input.memoryBytes !== undefined && (!Number.isSafeInteger(input.memoryBytes) || input.memoryBytes <= 0)) {
    throw new MaestroError('validation_error', `the memory limit must be a positive whole number of bytes, got ${String(input.memoryBytes)}`);
  }
  const notes: string[] = [];
  const launch: Parameters<typeof stepLaunch>[0] = { command: input.command };

  if (input.sandbox) {
    checkSandboxPolicy(input.sandbox.policy);
    const detection = input.sandbox.policy.mode === 'off' ? undefined : (input.sandbox.detection ?? (await detectSandbox()));
    const decision = decideSandbox(input.sandbox.policy, detection);
    if (decision.sandboxed) {
      launch.sandbox = { bwrapPath: decision.bwrapPath, spec: await sandboxSpec(input, input.sandbox) };
    } else if (decision.warning) {
      notes.push(decision.warning);
    }
  }

  let niceAfterSpawn: number | undefined;
  if (input.priority) {
    const nicePath = await findTool('nice');
    if (nicePath) launch.nice = { path: nicePath, value: input.priority.nice };
    else niceAfterSpawn = input.priority.nice;
    const ionicePath = await findTool('ionice');
    if (ionicePath) launch.ionice = { path: ionicePath, class: input.priority.ioniceClass ?? 'best-effort' };
  }

  const request = {
    ...(input.memoryBytes !== undefined ? { memoryBytes: input.memoryBytes } : {}),
    ...(input.priority ? { cpuShares: STEP_CPU_SHARES } : {}),
  };
  const opened = await openStepCgroups(request, input.cgroupRoot);
  notes.push(...opened.notes);
  if (opened.cgroups) launch.cgroupProcs = opened.cgroups.procsFiles;

  try {
    return {
      launch: stepLaunch(launch),
      notes,
      ...(opened.cgroups ? { cgroups: opened.cgroups } : {}),
      ...(niceAfterSpawn !== undefined ? { niceAfterSpawn } : {}),
    };
  } catch (error) {
    await opened.cgroups?.remove();
    throw error;
  }
}

/** Real paths, so a folder reached through a symlink is still recognised as inside a hidden one. */
async function sandboxSpec(input: PrepareStepInput, sandbox: StepSandboxOptions): Promise<Omit<SandboxSpec, 'command' | 'nice'>> {
  const resolve = (path: string, what: string): Promise<string> =>
    realpath(path).catch((error: NodeJS.ErrnoException) => {
      throw new MaestroError('validation_error', `${what} "${path}" for the sandbox cannot be used: ${error.code ?? error.message}`);
    });
  for (const path of [...sandbox.writable, ...sandbox.hidden]) {
    if (typeof path !== 'string' || !path.startsWith('/')) {
      throw new MaestroError('validation_error', `folders given to the sandbox must be absolute paths, got "${String(path).slice(0, 200)}"`);
    }
  }
  for (const path of sandbox.writable) await mkdir(path, { recursive: true });
  const hidden: string[] = [];
  for (const path of sandbox.hidden) {
    // A folder that does not exist has nothing to hide, and bwrap could not mount over it.
    const real = await realpath(path).catch(() => undefined);
    if (real) hidden.push(real);
  }
  return {
    cwd: await resolve(input.cwd, 'the working folder'),
    workDir: await resolve(sandbox.workDir ?? input.cwd, 'the work dir'),
    writable: await Promise.all(sandbox.writable.map((path) => resolve(path, 'the writable folder'))),
    hidden,
    network: sandbox.network,
    env: input.env,
  };
}
