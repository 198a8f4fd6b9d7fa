import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decideDeployment, type DeploymentObservation } from '../../src/server/deployment-decision.js';
import { DEPLOYMENT_STATUSES, type BuildStatus } from '../../src/store/index.js';

const BUILD_STATUSES: BuildStatus[] = ['pending', 'running', 'succeeded', 'failed', 'cancelled'];

const observation = fc.record(
  {
    status: fc.constantFrom(...DEPLOYMENT_STATUSES),
    build: fc.record({ status: fc.constantFrom(...BUILD_STATUSES) }),
    rolloutRunning: fc.boolean(),
    buildOnly: fc.boolean(),
    dependenciesInProgress: fc.array(fc.constantFrom('db', 'api'), { maxLength: 2 }),
  },
  { requiredKeys: ['status', 'rolloutRunning'] },
) as fc.Arbitrary<DeploymentObservation>;

describe('decideDeployment', () => {
  it('starts the rollout once the build succeeded', () => {
    expect(decideDeployment({ status: 'building', build: { status: 'succeeded' }, rolloutRunning: false })).toEqual({ kind: 'start_rollout' });
  });

  it('a release build ends when its build succeeded, without a rollout', () => {
    expect(decideDeployment({ status: 'building', build: { status: 'succeeded' }, rolloutRunning: false, buildOnly: true })).toEqual({
      kind: 'complete_build',
    });
  });

  it('waits for the services it depends on before rolling out, then goes', () => {
    const built = { status: 'building', build: { status: 'succeeded' }, rolloutRunning: false } as const;
    expect(decideDeployment({ ...built, dependenciesInProgress: ['db'] })).toEqual({ kind: 'wait' });
    expect(decideDeployment({ ...built, dependenciesInProgress: [] })).toEqual({ kind: 'start_rollout' });
  });

  it('a rollout already under way resumes even while a dependency deploys (it had started in order)', () => {
    expect(decideDeployment({ status: 'deploying', rolloutRunning: false, dependenciesInProgress: ['db'] })).toEqual({ kind: 'start_rollout' });
  });

  it('never starts a new rollout for a release build, nor one whose dependencies are still deploying', () => {
    fc.assert(
      fc.property(observation, (observed) => {
        const decision = decideDeployment(observed);
        if (decision.kind !== 'start_rollout' || observed.status === 'deploying') return true;
        return !observed.buildOnly && (observed.dependenciesInProgress?.length ?? 0) === 0 && !observed.rolloutRunning;
      }),
    );
  });

  it('does nothing for a finished deployment', () => {
    fc.assert(
      fc.property(observation, (observed) => {
        const finished = !['pending', 'building', 'deploying'].includes(observed.status);
        return !finished || decideDeployment(observed).kind === 'wait';
      }),
    );
  });
});
