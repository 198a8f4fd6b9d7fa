/**
 * Maestro's default policies: what every release should have unless the organisation says otherwise.
 * An organisation policy file replaces one by defining a policy of the same name, or drops them all
 * with `defaults: false`; a project can only add to them.
 */
import type { Policy } from './types.js';

export const DEFAULT_POLICIES: readonly Policy[] = [
  {
    name: 'sbom-present',
    action: 'deny',
    environments: [],
    expression: 'input.sbom.present',
    message: 'the artifact has no SBOM: Maestro makes one from the lockfiles during the build; see the build log for why it could not',
    source: 'default',
  },
  {
    name: 'artifact-signed',
    action: 'deny',
    environments: [],
    expression: 'input.artifact.signed',
    message: 'the artifact is not signed: Maestro signs what it builds; see the build log for why it could not',
    source: 'default',
  },
  {
    name: 'no-critical-vulnerabilities',
    action: 'deny',
    environments: [],
    expression: 'input.vulnerabilities.counts.critical == 0',
    message: 'dependencies have critical vulnerabilities: upgrade them (see the scan), or waive this policy for this artifact with a reason',
    source: 'default',
  },
  {
    name: 'tests-passed',
    action: 'deny',
    environments: [],
    expression: 'input.build.testsPassed',
    message: "the build's tests did not pass",
    source: 'default',
  },
  // Without a scan the counts above are 0 and prove nothing; said, not enforced, so an offline
  // machine still deploys. An organisation makes it a deny by defining it with action: deny.
  {
    name: 'vulnerability-scan-complete',
    action: 'warn',
    environments: [],
    expression: "input.vulnerabilities.status == 'complete'",
    message: 'no vulnerability scan could be made, so nothing is known about vulnerabilities in the dependencies',
    source: 'default',
  },
];
