import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isMaestroError } from '../../src/common/index.js';
import { decideGitHub, decideGitLab, githubRepositoryOf, gitlabRepositoryOf } from '../../src/git-hosts/index.js';
import { copy, githubExamples } from './examples.js';

const fixture = (name: string) => JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')) as Record<string, unknown>;
const ZERO = '0'.repeat(40);

function decide<T>(run: () => T): T | { error: string; code: string } {
  try {
    return run();
  } catch (error) {
    if (!isMaestroError(error)) throw error;
    return { error: error.message, code: error.code };
  }
}

describe("GitHub's example payloads", () => {
  const examples = [...githubExamples('push'), ...githubExamples('pull_request')];

  it('are all there to test against', () => {
    expect(githubExamples('push').length).toBeGreaterThanOrEqual(7);
    expect(githubExamples('pull_request').length).toBeGreaterThanOrEqual(29);
  });

  it.each(examples.map((e) => [e.label, e.payload] as const))('%s maps to intents or is ignored with a reason', (label, payload) => {
    const event = label.split(' ')[1]!.split('.')[0]!;
    expect(githubRepositoryOf(event, payload)).toBe('Codertocat/Hello-World');
    const decision = decideGitHub(event, payload);
    expect(['act', 'ignore']).toContain(decision.kind);
    if (decision.kind === 'ignore') expect(decision.reason.length).toBeGreaterThan(10);
    if (decision.kind === 'act') expect(decision.intents.length).toBeGreaterThan(0);
  });

  it('push: a new branch, a new tag and a deleted tag, per the zero sha', () => {
    const pushes = githubExamples('push').map((e) => e.payload);
    const branch = pushes.find((p) => p.ref === 'refs/heads/master')!;
    expect(decideGitHub('push', branch)).toEqual({
      kind: 'act',
      intents: [{ kind: 'branch_updated', branch: 'master', sha: '6113728f27ae82c7b1a177c8d03f9e96e0adf246' }],
      fetches: [
        {
          url: 'https://github.com/Codertocat/Hello-World.git',
          ref: 'refs/heads/master',
          into: 'refs/maestro/github/heads/master',
          sha: '6113728f27ae82c7b1a177c8d03f9e96e0adf246',
        },
      ],
      actor: 'Codertocat',
    });
    const tag = pushes.find((p) => p.ref === 'refs/tags/simple-tag' && p.created === true)!;
    expect(decideGitHub('push', tag)).toMatchObject({
      kind: 'act',
      intents: [{ kind: 'tag_pushed', tag: 'simple-tag', sha: '6113728f27ae82c7b1a177c8d03f9e96e0adf246' }],
      fetches: [{ ref: 'refs/tags/simple-tag', into: 'refs/maestro/github/tags/simple-tag' }],
    });
    const deletedTag = pushes.find((p) => p.ref === 'refs/tags/simple-tag' && p.deleted === true)!;
    expect(decideGitHub('push', deletedTag)).toEqual({ kind: 'ignore', reason: 'tag simple-tag was deleted: nothing to build' });
  });

  it('push: a moved branch carries its old sha and whether GitHub says it was forced; a deleted one fetches nothing', () => {
    const moved = { ...copy(githubExamples('push')[4]!.payload), before: 'a'.repeat(40), created: false, forced: true };
    expect(decideGitHub('push', moved)).toMatchObject({
      intents: [{ kind: 'branch_updated', branch: 'master', beforeSha: 'a'.repeat(40), forced: true }],
    });
    expect(decideGitHub('push', { ...moved, forced: false })).toMatchObject({ intents: [{ forced: false }] });
    const deleted = { ...moved, after: ZERO, deleted: true, head_commit: null };
    expect(decideGitHub('push', deleted)).toEqual({ kind: 'act', intents: [{ kind: 'branch_deleted', branch: 'master' }], fetches: [], actor: 'Codertocat' });
  });

  it('pull_request: opened, synchronize and reopened follow the head through refs/pull/<n>/head; closed says whether it merged', () => {
    const prs = githubExamples('pull_request').filter((e) => e.label.startsWith('api.github.com')).map((e) => e.payload);
    const opened = prs.find((p) => p.action === 'opened')!;
    expect(decideGitHub('pull_request', opened)).toEqual({
      kind: 'act',
      intents: [
        { kind: 'pull_request_updated', number: 2, branch: 'changes', sha: 'ec26c3e57ca3a959ca5aad62de7213c562f8c821', baseBranch: 'master', title: 'Update the README with new information.' },
      ],
      fetches: [
        { url: 'https://github.com/Codertocat/Hello-World.git', ref: 'refs/pull/2/head', into: 'refs/maestro/github/pull/2', sha: 'ec26c3e57ca3a959ca5aad62de7213c562f8c821' },
      ],
      actor: 'Codertocat',
    });
    for (const action of ['synchronize', 'reopened']) {
      expect(decideGitHub('pull_request', prs.find((p) => p.action === action)!)).toMatchObject({ kind: 'act', intents: [{ kind: 'pull_request_updated', number: 2 }] });
    }
    const closed = copy(prs.find((p) => p.action === 'closed')!);
    expect(decideGitHub('pull_request', closed)).toMatchObject({ intents: [{ kind: 'pull_request_closed', number: 2, merged: false }], fetches: [] });
    (closed.pull_request as { merged: boolean }).merged = true;
    expect(decideGitHub('pull_request', closed)).toMatchObject({ intents: [{ kind: 'pull_request_closed', number: 2, merged: true }] });
    expect(decideGitHub('pull_request', prs.find((p) => p.action === 'labeled')!)).toEqual({
      kind: 'ignore',
      reason: 'pull_request action labeled does not change the code of #2; Maestro acts on opened, synchronize, reopened and closed',
    });
  });

  it('ping answers pong; other events are ignored with a reason', () => {
    for (const { payload } of githubExamples('ping')) expect(decideGitHub('ping', payload)).toEqual({ kind: 'ping', message: 'pong' });
    const issue = githubExamples('issues')[0]!.payload;
    expect(decideGitHub('issues', issue)).toEqual({ kind: 'ignore', reason: 'GitHub issues events do not deploy anything; Maestro acts on push and pull_request' });
  });

  it('a payload missing what its event needs is a 400 naming the field', () => {
    const push = copy(githubExamples('push')[4]!.payload);
    delete push.after;
    expect(decide(() => decideGitHub('push', push))).toEqual({ code: 'validation_error', error: 'the GitHub push payload is missing after' });
    const pr = copy(githubExamples('pull_request')[0]!.payload);
    delete (pr.pull_request as { head: { sha?: string } }).head.sha;
    expect(decide(() => decideGitHub('pull_request', pr))).toEqual({ code: 'validation_error', error: 'the GitHub pull_request payload is missing pull_request.head.sha' });
    expect(decide(() => decideGitHub('push', { ...copy(githubExamples('push')[4]!.payload), after: 'nope' }))).toMatchObject({
      error: expect.stringMatching(/^the GitHub push payload's after is not valid: expected a full commit sha/),
    });
    expect(decide(() => githubRepositoryOf('push', { zen: 'no repository' }))).toEqual({ code: 'validation_error', error: 'the GitHub push payload is missing repository' });
  });

  it('a branch name git would refuse never reaches a refspec', () => {
    const push = { ...copy(githubExamples('push')[4]!.payload), ref: 'refs/heads/main:refs/heads/other' };
    expect(decide(() => decideGitHub('push', push))).toMatchObject({ code: 'validation_error', error: expect.stringMatching(/payload's ref is not valid/) });
  });
});

describe("GitLab's documented payloads", () => {
  const push = fixture('gitlab-push.json');
  const tag = fixture('gitlab-tag-push.json');
  const mr = fixture('gitlab-merge-request.json');
  const withAttributes = (changes: Record<string, unknown>) => {
    const payload = copy(mr);
    Object.assign(payload.object_attributes as Record<string, unknown>, changes);
    return payload;
  };

  it('Push Hook: a moved branch, with its old sha; a deleted one', () => {
    expect(gitlabRepositoryOf('Push Hook', push)).toBe('mike/diaspora');
    expect(decideGitLab('Push Hook', push)).toEqual({
      kind: 'act',
      intents: [{ kind: 'branch_updated', branch: 'master', sha: 'da1560886d4f094c3e6c9ef40349f7d38b5d27d7', beforeSha: '95790bf891e76fee5e1747ab589903a6a1f80f22' }],
      fetches: [{ url: 'http://example.com/mike/diaspora.git', ref: 'refs/heads/master', into: 'refs/maestro/gitlab/heads/master', sha: 'da1560886d4f094c3e6c9ef40349f7d38b5d27d7' }],
      actor: 'jsmith',
    });
    expect(decideGitLab('Push Hook', { ...push, after: ZERO, checkout_sha: null })).toMatchObject({ intents: [{ kind: 'branch_deleted', branch: 'master' }], fetches: [] });
    expect(decideGitLab('Push Hook', { ...push, before: ZERO })).toMatchObject({ intents: [{ kind: 'branch_updated', branch: 'master' }] });
    expect((decideGitLab('Push Hook', { ...push, before: ZERO }) as { intents: object[] }).intents[0]).not.toHaveProperty('beforeSha');
  });

  it('Tag Push Hook: the commit the tag points at (checkout_sha); a deleted tag is ignored', () => {
    const annotated = { ...tag, after: 'f'.repeat(40) }; // the tag object; checkout_sha stays the commit
    expect(decideGitLab('Tag Push Hook', annotated)).toMatchObject({
      intents: [{ kind: 'tag_pushed', tag: 'v1.0.0', sha: '82b3d5ae55f7080f1e6022629cdb57bfae7cccc7' }],
      fetches: [{ ref: 'refs/tags/v1.0.0', into: 'refs/maestro/gitlab/tags/v1.0.0', url: 'http://example.com/jsmith/example.git' }],
    });
    expect(decideGitLab('Tag Push Hook', { ...tag, before: tag.after, after: ZERO, checkout_sha: null })).toEqual({ kind: 'ignore', reason: 'tag v1.0.0 was deleted: nothing to build' });
  });

  it('Merge Request Hook: open, reopen and update with new commits follow the head; close and merge end it', () => {
    expect(gitlabRepositoryOf('Merge Request Hook', mr)).toBe('gitlabhq/gitlab-test');
    const updated = {
      kind: 'act',
      intents: [{ kind: 'pull_request_updated', number: 1, branch: 'ms-viewport', sha: 'da1560886d4f094c3e6c9ef40349f7d38b5d27d7', baseBranch: 'master', title: 'MS-Viewport' }],
      fetches: [
        {
          url: 'http://example.com/awesome_space/awesome_project.git',
          ref: 'refs/heads/ms-viewport',
          into: 'refs/maestro/gitlab/merge-requests/1',
          sha: 'da1560886d4f094c3e6c9ef40349f7d38b5d27d7',
        },
      ],
      actor: 'root',
    };
    expect(decideGitLab('Merge Request Hook', mr)).toEqual(updated);
    expect(decideGitLab('Merge Request Hook', withAttributes({ action: 'reopen' }))).toEqual(updated);
    expect(decideGitLab('Merge Request Hook', withAttributes({ action: 'update', oldrev: 'b'.repeat(40) }))).toEqual(updated);
    expect(decideGitLab('Merge Request Hook', withAttributes({ action: 'update' }))).toEqual({
      kind: 'ignore',
      reason: 'merge request !1 was updated without new commits (a title, label or approval change)',
    });
    expect(decideGitLab('Merge Request Hook', withAttributes({ action: 'close' }))).toEqual({ kind: 'act', intents: [{ kind: 'pull_request_closed', number: 1, merged: false }], fetches: [], actor: 'root' });
    expect(decideGitLab('Merge Request Hook', withAttributes({ action: 'merge' }))).toMatchObject({ intents: [{ kind: 'pull_request_closed', number: 1, merged: true }] });
    expect(decideGitLab('Merge Request Hook', withAttributes({ action: 'approved' }))).toMatchObject({ kind: 'ignore' });
    // The source project is gone: GitLab still has the head in the target project.
    expect(decideGitLab('Merge Request Hook', withAttributes({ source: null }))).toMatchObject({
      fetches: [{ url: 'http://example.com/gitlabhq/gitlab-test.git', ref: 'refs/merge-requests/1/head' }],
    });
  });

  it('other events are ignored; missing fields are named', () => {
    expect(decideGitLab('Issue Hook', {})).toMatchObject({ kind: 'ignore' });
    const broken = copy(mr);
    delete (broken.object_attributes as Record<string, unknown>).last_commit;
    expect(decide(() => decideGitLab('Merge Request Hook', broken))).toEqual({
      code: 'validation_error',
      error: 'the GitLab Merge Request Hook payload is missing object_attributes.last_commit',
    });
    expect(decide(() => gitlabRepositoryOf('Push Hook', { project: {} }))).toEqual({
      code: 'validation_error',
      error: 'the GitLab Push Hook payload is missing project.path_with_namespace',
    });
  });
});
