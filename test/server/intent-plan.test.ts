import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { GitIntent } from '../../src/git/intents.js';
import { planIntent, planPermission } from '../../src/server/intent-plan.js';

const sha = 'a'.repeat(40);
const branchName = fc.stringMatching(/^[a-z][a-z0-9/_.-]{0,20}$/);
const intent: fc.Arbitrary<GitIntent> = fc.oneof(
  fc.record({ kind: fc.constant('branch_updated' as const), branch: branchName, sha: fc.constant(sha) }),
  fc.record({ kind: fc.constant('branch_deleted' as const), branch: branchName }),
  fc.record({ kind: fc.constant('tag_pushed' as const), tag: branchName, sha: fc.constant(sha) }),
  fc.record({ kind: fc.constant('pull_request_updated' as const), number: fc.nat(), branch: branchName, sha: fc.constant(sha), baseBranch: branchName }),
  fc.record({ kind: fc.constant('pull_request_closed' as const), number: fc.nat(), merged: fc.boolean() }),
);

describe('planIntent', () => {
  it('deploys the production branch to production, from a push or a provider', () => {
    for (const origin of ['push', 'github', 'gitlab'] as const) {
      expect(planIntent({ kind: 'branch_updated', branch: 'main', sha }, 'main', origin)).toEqual({
        kind: 'deploy',
        environment: 'production',
        sha,
        ref: 'refs/heads/main',
      });
    }
  });

  it('follows the project\'s production branch, not a fixed name', () => {
    expect(planIntent({ kind: 'branch_updated', branch: 'main', sha }, 'trunk', 'push')).toMatchObject({ kind: 'deploy_preview' });
    expect(planIntent({ kind: 'branch_updated', branch: 'trunk', sha }, 'trunk', 'push')).toMatchObject({ kind: 'deploy', environment: 'production' });
  });

  it('gives another pushed branch its preview, and takes it down when the branch is deleted', () => {
    expect(planIntent({ kind: 'branch_updated', branch: 'feat/login', sha }, 'main', 'push')).toEqual({
      kind: 'deploy_preview',
      preview: { kind: 'branch', branch: 'feat/login' },
      sha,
      ref: 'refs/heads/feat/login',
    });
    expect(planIntent({ kind: 'branch_deleted', branch: 'feat/login' }, 'main', 'push')).toMatchObject({
      kind: 'destroy_preview',
      preview: { kind: 'branch', branch: 'feat/login' },
    });
  });

  it('leaves production serving when the production branch is deleted', () => {
    expect(planIntent({ kind: 'branch_deleted', branch: 'main' }, 'main', 'push')).toMatchObject({ kind: 'ignore' });
  });

  it('makes previews from pull requests, not from provider branch pushes (one preview per piece of work)', () => {
    expect(planIntent({ kind: 'branch_updated', branch: 'feat', sha }, 'main', 'github')).toMatchObject({ kind: 'ignore' });
    expect(planIntent({ kind: 'pull_request_updated', number: 7, branch: 'feat', sha, baseBranch: 'main' }, 'main', 'github')).toMatchObject({
      kind: 'deploy_preview',
      preview: { kind: 'pull_request', number: 7 },
      ref: 'refs/pull/7/head',
    });
    expect(planIntent({ kind: 'pull_request_closed', number: 7, merged: true }, 'main', 'gitlab')).toMatchObject({
      kind: 'destroy_preview',
      reason: 'pull request #7 was merged',
    });
  });

  it('turns a tag into a release build, never a deploy', () => {
    expect(planIntent({ kind: 'tag_pushed', tag: 'v1.2.0', sha }, 'main', 'push')).toEqual({ kind: 'release_build', sha, ref: 'refs/tags/v1.2.0', tag: 'v1.2.0' });
  });

  it('only ever deploys production for the production branch', () => {
    fc.assert(
      fc.property(intent, branchName, fc.constantFrom('push', 'github', 'gitlab') as fc.Arbitrary<'push' | 'github' | 'gitlab'>, (given, production, origin) => {
        const plan = planIntent(given, production, origin);
        if (plan.kind === 'deploy') return given.kind === 'branch_updated' && given.branch === production;
        if (plan.kind === 'destroy_preview' && given.kind === 'branch_deleted') return given.branch !== production;
        return true;
      }),
    );
  });
});

describe('what a pushed intent takes of the pusher', () => {
  it('is deploy:production exactly when the plan deploys to production, and at least deploy:preview for anything else it does', () => {
    fc.assert(
      fc.property(intent, branchName, (given, production) => {
        const plan = planIntent(given, production, 'push');
        const permission = planPermission(plan);
        if (plan.kind === 'deploy') expect(permission).toBe('deploy:production');
        else if (plan.kind === 'ignore') expect(permission).toBeUndefined();
        else expect(permission).toBe('deploy:preview');
      }),
    );
  });
});
