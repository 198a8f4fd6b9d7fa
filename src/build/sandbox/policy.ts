/**
 * Whether a step runs sandboxed, as a pure decision over the policy and what the machine offers.
 * 'auto' sandboxes when it can and says so loudly on every build when it cannot; 'require'
 * refuses; 'off' is the explicit opt-out and stays quiet.
 */
import { MaestroError } from '../../common/index.js';
import type { SandboxDetection } from './detect.js';

export type SandboxMode = 'auto' | 'require' | 'off';

export interface SandboxPolicy {
  mode: SandboxMode;
}

export type SandboxDecision = { sandboxed: true; bwrapPath: string } | { sandboxed: false; warning?: string };

export const UNSANDBOXED_WARNING =
  'warning: bubblewrap (bwrap) is not installed, so this build runs unsandboxed: it can read and write anything the Maestro user can. Install it with `apt-get install bubblewrap`, or start Maestro with --require-sandbox to refuse unsandboxed builds.';

export function decideSandbox(policy: SandboxPolicy, detection: SandboxDetection | undefined): SandboxDecision {
  if (policy.mode === 'off') return { sandboxed: false };
  if (!detection) throw new MaestroError('internal', `the sandbox policy is "${policy.mode}" but the machine was not checked for bubblewrap`);
  if (detection.available) return { sandboxed: true, bwrapPath: detection.bwrapPath };
  if (policy.mode === 'require') {
    const fix = detection.installed
      ? 'Make bwrap work here (it needs user namespaces or to run as root; run `bwrap --ro-bind / / true` to see why it fails)'
      : 'Install it with `apt-get install bubblewrap`';
    throw new MaestroError(
      'unavailable',
      `this Maestro only runs builds in a sandbox (--require-sandbox), but ${detection.reason}. ${fix}, or start Maestro without --require-sandbox to allow unsandboxed builds.`,
      { reason: detection.reason },
    );
  }
  if (!detection.installed) return { sandboxed: false, warning: UNSANDBOXED_WARNING };
  return {
    sandboxed: false,
    warning: `warning: ${detection.reason}, so this build runs unsandboxed: it can read and write anything the Maestro user can. Make bwrap work here (run \`bwrap --ro-bind / / true\` to see why it fails), or start Maestro with --require-sandbox to refuse unsandboxed builds.`,
  };
}

export function checkSandboxPolicy(policy: SandboxPolicy): void {
  if (!policy || !['auto', 'require', 'off'].includes(policy.mode)) {
    throw new MaestroError('validation_error', `the sandbox mode must be "auto", "require" or "off", got ${JSON.stringify(policy?.mode)}`);
  }
}
