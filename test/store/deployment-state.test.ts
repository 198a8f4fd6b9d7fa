import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEPLOYMENT_STATUSES,
  IN_PROGRESS_STATUSES,
  canTransition,
  isInProgress,
  isTerminal,
  nextStatuses,
  type DeploymentStatus,
} from '../../src/store/index.js';

const status = fc.constantFrom(...DEPLOYMENT_STATUSES);

/** Applies the attempts that the machine allows, the way the store does, and records the path. */
function run(attempts: DeploymentStatus[]): DeploymentStatus[] {
  const path: DeploymentStatus[] = ['pending'];
  for (const to of attempts) {
    const from = path.at(-1)!;
    if (canTransition(from, to)) path.push(to);
  }
  return path;
}

describe('deployment state machine', () => {
  it('allows the documented moves and nothing else', () => {
    const allowed = new Set([
      'pending>building',
      'pending>deploying',
      'pending>failed',
      'pending>cancelled',
      'building>deploying',
      'building>succeeded', // a release build: kept, not rolled out
      'building>failed',
      'building>cancelled',
      'deploying>succeeded',
      'deploying>failed',
      'deploying>cancelled',
      'deploying>rolled_back',
      'succeeded>rolled_back',
    ]);
    for (const from of DEPLOYMENT_STATUSES) {
      for (const to of DEPLOYMENT_STATUSES) {
        expect(canTransition(from, to), `${from} -> ${to}`).toBe(allowed.has(`${from}>${to}`));
      }
    }
  });

  it('never leaves a terminal status, except succeeded -> rolled_back', () => {
    fc.assert(
      fc.property(fc.array(status, { maxLength: 40 }), (attempts) => {
        const path = run(attempts);
        path.forEach((current, index) => {
          const next = path[index + 1];
          if (next === undefined || !isTerminal(current)) return;
          expect([current, next]).toEqual(['succeeded', 'rolled_back']);
        });
      }),
    );
  });

  it('keeps in-progress and terminal exact opposites, and in-progress only ever comes first', () => {
    fc.assert(
      fc.property(fc.array(status, { maxLength: 40 }), (attempts) => {
        const path = run(attempts);
        for (const current of path) expect(isInProgress(current)).toBe(!isTerminal(current));
        // Once a deployment has stopped working it never starts again.
        const firstDone = path.findIndex(isTerminal);
        if (firstDone >= 0) expect(path.slice(firstDone).some(isInProgress)).toBe(false);
      }),
    );
  });

  it('never repeats a status along any path, so every deployment finishes in at most 5 moves', () => {
    fc.assert(
      fc.property(fc.array(status, { maxLength: 60 }), (attempts) => {
        const path = run(attempts);
        expect(new Set(path).size).toBe(path.length);
        expect(path.length).toBeLessThanOrEqual(5);
      }),
    );
  });

  it('lists next statuses consistent with canTransition', () => {
    for (const from of DEPLOYMENT_STATUSES) {
      expect([...nextStatuses(from)].sort()).toEqual(DEPLOYMENT_STATUSES.filter((to) => canTransition(from, to)).sort());
    }
    expect([...IN_PROGRESS_STATUSES]).toEqual(DEPLOYMENT_STATUSES.filter(isInProgress));
  });
});
