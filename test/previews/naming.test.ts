import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NAME } from '../../src/api/schemas.js';
import { isDnsName } from '../../src/manifest/index.js';
import { isPullRequestName, previewName, previewNameCandidates } from '../../src/previews/index.js';
import { checkName } from '../../src/store/validate.js';

/** Branch names as people write them: slashes, capitals, dots, underscores, unicode, very long ones. */
const branchChar = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_/.+@#é日'.split(''));
const branch = fc.oneof(
  fc.array(branchChar, { minLength: 1, maxLength: 80 }).map((chars) => chars.join('')),
  fc.string({ minLength: 1, maxLength: 60 }),
  fc.tuple(fc.constantFrom('feat', 'fix', 'Feature', 'release', 'pr', 'production', 'dependabot/npm_and_yarn'), fc.stringMatching(/^[a-z0-9]{1,12}$/)).map(
    ([prefix, rest]) => `${prefix}/${rest}`,
  ),
);

const valid = (name: string): boolean => isDnsName(name) && NAME.safeParse(name).success && checkName('environment', name) === name;

describe('previewName', () => {
  it('names a pull request pr-<n>', () => {
    expect(previewName({ kind: 'pull_request', number: 7 })).toBe('pr-7');
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 }), (number) => {
        const name = previewName({ kind: 'pull_request', number });
        expect(name).toBe(`pr-${number}`);
        expect(isPullRequestName(name)).toBe(true);
      }),
    );
    expect(() => previewName({ kind: 'pull_request', number: 0 })).toThrow(/whole number from 1/);
  });

  it('keeps a branch that is already a plain DNS label as it is', () => {
    expect(previewName({ kind: 'branch', branch: 'login-form' })).toBe('login-form');
    expect(previewName({ kind: 'branch', branch: 'v2' })).toBe('v2');
  });

  it('slugs other branches and adds a hash, so feat/a and feat-a never share a name', () => {
    const slashed = previewName({ kind: 'branch', branch: 'feat/a' });
    expect(slashed).toMatch(/^feat-a-[0-9a-f]{6}$/);
    expect(previewName({ kind: 'branch', branch: 'feat-a' })).toBe('feat-a');
    expect(previewName({ kind: 'branch', branch: 'Feat-A' })).toMatch(/^feat-a-[0-9a-f]{6}$/);
    expect(previewName({ kind: 'branch', branch: 'Feat-A' })).not.toBe(slashed);
    expect(previewName({ kind: 'branch', branch: '///' })).toMatch(/^branch-[0-9a-f]{6}$/);
    const long = previewName({ kind: 'branch', branch: 'a'.repeat(41) });
    expect(long).toMatch(/^a{33}-[0-9a-f]{6}$/);
  });

  it('never hands out a reserved name: production, staging, preview, or anything starting with pr-', () => {
    for (const reserved of ['production', 'staging', 'preview', 'pr-7', 'pr-fix']) {
      const name = previewName({ kind: 'branch', branch: reserved });
      expect(name).toMatch(new RegExp(`^${reserved}-[0-9a-f]{6}$`));
      expect(isPullRequestName(name)).toBe(false);
    }
  });

  it('is always a valid environment name, and the same for the same branch', () => {
    fc.assert(
      fc.property(branch, (b) => {
        const name = previewName({ kind: 'branch', branch: b });
        expect(valid(name)).toBe(true);
        expect(previewName({ kind: 'branch', branch: b })).toBe(name);
        expect(isPullRequestName(name)).toBe(false);
        expect(['production', 'staging', 'preview']).not.toContain(name);
      }),
      { numRuns: 500 },
    );
  });

  it('gives distinct branches distinct names', () => {
    fc.assert(
      fc.property(fc.uniqueArray(branch, { minLength: 2, maxLength: 60 }), (branches) => {
        const names = branches.map((b) => previewName({ kind: 'branch', branch: b }));
        expect(new Set(names).size).toBe(branches.length);
      }),
      { numRuns: 300 },
    );
  });

  it('offers longer-hashed fallbacks, all valid and distinct, for a clash the store finds', () => {
    fc.assert(
      fc.property(fc.oneof(branch.map((b) => ({ kind: 'branch' as const, branch: b })), fc.integer({ min: 1, max: 99_999 }).map((number) => ({ kind: 'pull_request' as const, number }))), (input) => {
        const candidates = previewNameCandidates(input);
        expect(candidates[0]).toBe(previewName(input));
        expect(candidates.length).toBeGreaterThanOrEqual(3);
        expect(new Set(candidates).size).toBe(candidates.length);
        for (const candidate of candidates) expect(valid(candidate)).toBe(true);
      }),
    );
  });
});
