import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isMaestroError } from '../../src/common/index.js';
import { signWebhookBody } from '../../src/events/index.js';
import { decideGitHub, decideGitLab, githubRepositoryOf, retryAfterMs, verifyGitHubSignature, verifyGitLabToken } from '../../src/git-hosts/index.js';
import { isSafeRefName } from '../../src/git-hosts/payload.js';
import { copy, githubExamples } from './examples.js';

/** Runs `fn`; a MaestroError (a 400 for the sender) is an answer, anything else a bug. */
function answers(fn: () => unknown): boolean {
  try {
    fn();
    return true;
  } catch (error) {
    if (isMaestroError(error)) return true;
    throw error;
  }
}

/** Every path to a value in a JSON object, e.g. ['pull_request', 'head', 'sha']. */
function paths(value: unknown, prefix: string[] = []): string[][] {
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, child]) => [[...prefix, key], ...paths(child, [...prefix, key])]);
}

function withoutPath(value: Record<string, unknown>, path: string[]): Record<string, unknown> {
  const result = copy(value);
  let node: Record<string, unknown> = result;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string, unknown>;
  delete node[path.at(-1)!];
  return result;
}

const sha = fc.stringMatching(/^[0-9a-f]{40}$/);
const ZERO = '0'.repeat(40);
const events = fc.constantFrom('push', 'pull_request', 'ping', 'Push Hook', 'Tag Push Hook', 'Merge Request Hook', 'issues');

describe('webhook payload parsing, for any input', () => {
  it('answers any JSON with a decision or a 400, never a crash', () => {
    fc.assert(
      fc.property(events, fc.jsonValue(), (event, payload) => {
        expect(answers(() => decideGitHub(event, payload))).toBe(true);
        expect(answers(() => decideGitLab(event, payload))).toBe(true);
        expect(answers(() => githubRepositoryOf(event, payload))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it("answers GitHub's examples with any one field removed with a decision or a 400 naming a field", () => {
    const examples = [...githubExamples('push'), ...githubExamples('pull_request')].map((e) => ({ event: e.label.split(' ')[1]!.split('.')[0]!, payload: e.payload }));
    const cases = examples.flatMap(({ event, payload }) => paths(payload).map((path) => ({ event, payload, path })));
    fc.assert(
      fc.property(fc.constantFrom(...cases), ({ event, payload, path }) => {
        try {
          decideGitHub(event, withoutPath(payload, path));
        } catch (error) {
          if (!isMaestroError(error)) throw error;
          expect(error.message).toMatch(/^the GitHub (push|pull_request) payload('s [\w.]+ is not valid| is missing [\w.]+)/);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('maps any branch push by its zero shas: created and moved branches deploy their new sha, deleted ones go', () => {
    const branch = fc.stringMatching(/^[a-z0-9][a-z0-9/_-]{0,30}[a-z0-9]$/).filter(isSafeRefName);
    fc.assert(
      fc.property(branch, fc.option(sha, { nil: undefined }), fc.option(sha, { nil: undefined }), fc.boolean(), (name, before, after, forced) => {
        const payload = {
          ref: `refs/heads/${name}`,
          before: before ?? ZERO,
          after: after ?? ZERO,
          forced,
          repository: { full_name: 'o/r', clone_url: 'https://github.com/o/r.git' },
        };
        const decision = decideGitHub('push', payload);
        if (after === undefined) {
          expect(decision).toEqual(before === undefined ? { kind: 'ignore', reason: expect.any(String) } : { kind: 'act', intents: [{ kind: 'branch_deleted', branch: name }], fetches: [] });
          return;
        }
        expect(decision).toEqual({
          kind: 'act',
          intents: [{ kind: 'branch_updated', branch: name, sha: after, ...(before ? { beforeSha: before, forced } : {}) }],
          fetches: [{ url: 'https://github.com/o/r.git', ref: `refs/heads/${name}`, into: `refs/maestro/github/heads/${name}`, sha: after }],
        });
      }),
      { numRuns: 300 },
    );
  });

  it('lets through only ref names real git accepts', () => {
    const name = fc.oneof(
      fc.string({ maxLength: 20 }),
      fc.stringMatching(/^[a-z./@{}:~^ -]{1,12}$/),
      fc.stringMatching(/^[a-z0-9]{1,8}(\/[a-z0-9.]{1,8}){0,3}$/),
    );
    fc.assert(
      fc.property(name, (candidate) => {
        if (!isSafeRefName(candidate)) return;
        // git itself is the judge; our check may be stricter, never looser.
        expect(() => execFileSync('git', ['check-ref-format', `refs/heads/${candidate}`], { stdio: 'ignore' })).not.toThrow();
      }),
      { numRuns: 200 },
    );
    for (const bad of ['', '-x', 'a..b', 'a:b', 'a b', 'a~1', 'a^', 'x.lock', 'a/', '.hidden', 'a//b', 'a@{1}', 'tab\there']) expect(isSafeRefName(bad)).toBe(false);
  });
});

describe('signatures and tokens', () => {
  it('accept exactly the HMAC of the exact body with the right secret', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 16, maxLength: 64 }), fc.uint8Array({ minLength: 1, maxLength: 300 }), fc.nat(), (secret, bytes, at) => {
        const body = Buffer.from(bytes);
        const signature = signWebhookBody(secret, body);
        expect(verifyGitHubSignature(secret, body, signature)).toBe(true);
        const changed = Buffer.from(body);
        changed[at % changed.length] = changed[at % changed.length]! ^ 1;
        expect(verifyGitHubSignature(secret, changed, signature)).toBe(false);
        expect(verifyGitHubSignature(`${secret}x`, body, signature)).toBe(false);
        expect(verifyGitHubSignature(secret, body, undefined)).toBe(false);
        expect(verifyGitHubSignature(secret, body, signature.replace('sha256=', 'sha1='))).toBe(false);
      }),
    );
  });

  it('accept a GitLab token only when it is the secret, whatever its length', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.string(), (secret, other) => {
        expect(verifyGitLabToken(secret, secret)).toBe(true);
        expect(verifyGitLabToken(secret, other)).toBe(other === secret);
        expect(verifyGitLabToken(secret, undefined)).toBe(false);
      }),
    );
  });
});

describe('Retry-After', () => {
  it('reads seconds and HTTP dates, and nothing else', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    fc.assert(
      fc.property(fc.nat({ max: 100_000 }), (seconds) => {
        expect(retryAfterMs(String(seconds), now)).toBe(seconds * 1000);
        expect(retryAfterMs(new Date(now + seconds * 1000).toUTCString(), now)).toBe(seconds * 1000);
      }),
    );
    expect(retryAfterMs(new Date(now - 5000).toUTCString(), now)).toBe(0);
    expect(retryAfterMs(undefined, now)).toBeUndefined();
    expect(retryAfterMs('soon', now)).toBeUndefined();
  });
});
