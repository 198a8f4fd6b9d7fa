/** Sources, artifacts and the build step: packing, safe unpacking, the content store, running builds. */
export { packSource, type PackOptions, type PackResult } from './pack.js';
export { unpackSource, type UnpackLimits, type UnpackResult } from './unpack.js';
export { ContentStore, isDigest, type BlobSource, type StoredBlob } from './cas.js';
export {
  runBuild,
  DEFAULT_SOURCE_LIMITS,
  DEFAULT_BUILD_NETWORK,
  DEFAULT_BUILD_PRIORITY,
  type RunBuildInput,
  type RunBuildResult,
  type BuildSandboxOptions,
  type StepName,
  type StepResult,
} from './run-build.js';
export { packArtifact, unpackArtifact, DEFAULT_ARTIFACT_LIMITS } from './artifact.js';
export { runCommand, type RunCommandInput, type RunCommandResult } from './run-command.js';
export { execStep, type ExecStepInput, type ExecStepOutcome, type OutputStream } from './exec-step.js';
export { ALWAYS_EXCLUDED } from './ignore-rules.js';
export { runPipeline, plannedSteps, looksTransient, StepFailure, type PipelineInput, type PipelineResult } from './pipeline.js';
export { Runner, runnerName, retryBackoffMs, DEFAULT_LEASE_MS, type RunnerOptions } from './runner.js';
export {
  sandboxArgv,
  detectSandbox,
  decideSandbox,
  UNSANDBOXED_WARNING,
  DEFAULT_NICE,
  outOfMemoryReason,
  type SandboxSpec,
  type SandboxDetection,
  type SandboxPolicy,
  type SandboxMode,
  type StepSandboxOptions,
  type StepPriority,
  type StepLimits,
} from './sandbox/index.js';
