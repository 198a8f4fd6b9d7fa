/** The build sandbox (bubblewrap), step priority and step cgroups. */
export { sandboxArgv, bwrapOptions, type SandboxSpec, type Argv } from './sandbox-argv.js';
export { stepLaunch, CGROUP_JOIN_FAILED, type Launch, type LaunchPlan, type IoniceClass } from './launch.js';
export { detectSandbox, type SandboxDetection, type DetectOptions } from './detect.js';
export { decideSandbox, checkSandboxPolicy, UNSANDBOXED_WARNING, type SandboxPolicy, type SandboxMode, type SandboxDecision } from './policy.js';
export { openStepCgroups, oomKillCount, cpuWeightFromShares, DEFAULT_CGROUP_ROOT, type StepCgroups, type StepCgroupRequest, type OpenedCgroups } from './cgroups.js';
export {
  prepareStep,
  DEFAULT_NICE,
  STEP_CPU_SHARES,
  type StepSandboxOptions,
  type StepPriority,
  type StepLimits,
  type PrepareStepInput,
  type PreparedStep,
} from './prepare.js';
export { outOfMemoryReason, formatMemory } from './out-of-memory.js';
export { findExecutable } from './find-executable.js';
