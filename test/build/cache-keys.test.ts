import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildOutputKey, canonicalJson, dependencyKey, type DependencyKeyInput } from '../../src/build/cache/index.js';

const hex64 = fc.stringMatching(/^[0-9a-f]{64}$/);
const pathSegment = fc.stringMatching(/^[a-z][a-z0-9_.-]{0,8}$/).filter((segment) => segment !== '..' && !segment.endsWith('.'));
const path = fc.array(pathSegment, { minLength: 1, maxLength: 3 }).map((segments) => segments.join('/'));
const record = fc.dictionary(fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_]{0,6}$/), fc.string({ maxLength: 12 }), { maxKeys: 4 });

const lockfiles = fc.uniqueArray(fc.record({ path, sha256: hex64 }), { selector: (lockfile) => lockfile.path, maxLength: 5 });

const dependencyInput: fc.Arbitrary<DependencyKeyInput> = fc.record({
  lockfiles,
  installCommand: fc.string({ maxLength: 20 }),
  toolchain: record,
  platform: fc.constantFrom('linux-x64', 'linux-arm64', 'darwin-arm64'),
  servicePath: fc.oneof(fc.constant('.'), path),
  env: record,
});

const outputInput = fc.record({ inputsDigest: hex64, dependencyKey: hex64, buildCommand: fc.string({ maxLength: 20 }), env: record });

describe('dependencyKey', () => {
  it('is a sha256 digest that does not depend on the order of lockfiles, toolchain or env entries', () => {
    const withShuffles = dependencyInput.chain((input) => {
      const shuffled = <T>(items: readonly T[]) => fc.shuffledSubarray([...items], { minLength: items.length, maxLength: items.length });
      return fc.tuple(fc.constant(input), shuffled(input.lockfiles), shuffled(Object.entries(input.toolchain)), shuffled(Object.entries(input.env ?? {})));
    });
    fc.assert(
      fc.property(withShuffles, ([input, lockfileOrder, toolchainOrder, envOrder]) => {
        const reordered: DependencyKeyInput = { ...input, lockfiles: lockfileOrder, toolchain: Object.fromEntries(toolchainOrder), env: Object.fromEntries(envOrder) };
        const key = dependencyKey(input);
        expect(key).toMatch(/^[0-9a-f]{64}$/);
        expect(dependencyKey(reordered)).toBe(key);
      }),
    );
  });

  it('changes when any one field changes', () => {
    const changes: Array<(input: DependencyKeyInput, other: DependencyKeyInput) => DependencyKeyInput | undefined> = [
      (input, other) => ({ ...input, lockfiles: other.lockfiles }),
      (input, other) => ({ ...input, installCommand: other.installCommand }),
      (input, other) => ({ ...input, toolchain: other.toolchain }),
      (input, other) => ({ ...input, platform: other.platform }),
      (input, other) => ({ ...input, servicePath: other.servicePath }),
      (input, other) => ({ ...input, env: other.env }),
      // One byte of one lockfile's digest is enough.
      (input) => {
        const [first, ...rest] = input.lockfiles;
        if (!first) return undefined;
        const flipped = (first.sha256[0] === '0' ? '1' : '0') + first.sha256.slice(1);
        return { ...input, lockfiles: [{ path: first.path, sha256: flipped }, ...rest] };
      },
    ];
    fc.assert(
      fc.property(dependencyInput, dependencyInput, fc.nat(changes.length - 1), (input, other, which) => {
        const changed = changes[which]!(input, other);
        if (changed === undefined) return;
        const same = canonicalJson(normalise(changed)) === canonicalJson(normalise(input));
        expect(dependencyKey(changed) === dependencyKey(input)).toBe(same);
      }),
    );
  });

  it('reads "." and "" as the same service path, and a lockfile listed twice once', () => {
    const base: DependencyKeyInput = { lockfiles: [{ path: 'package-lock.json', sha256: 'a'.repeat(64) }], installCommand: 'npm ci', toolchain: { node: 'v20' }, platform: 'linux-x64', servicePath: '.' };
    expect(dependencyKey({ ...base, servicePath: '' })).toBe(dependencyKey(base));
    expect(dependencyKey({ ...base, servicePath: './' })).toBe(dependencyKey(base));
    expect(dependencyKey({ ...base, lockfiles: [...base.lockfiles, ...base.lockfiles] })).toBe(dependencyKey(base));
    expect(dependencyKey({ ...base, env: {} })).toBe(dependencyKey(base));
    expect(dependencyKey({ ...base, installCommand: undefined })).toBe(dependencyKey({ ...base, installCommand: '' }));
  });

  it('refuses malformed input with a message that says what to fix', () => {
    const base: DependencyKeyInput = { lockfiles: [], installCommand: 'npm ci', toolchain: {}, platform: 'linux-x64', servicePath: '.' };
    expect(() => dependencyKey({ ...base, lockfiles: [{ path: 'a.lock', sha256: 'nope' }] })).toThrow(/sha256 of lockfile "a.lock" must be a sha256 digest/);
    expect(() =>
      dependencyKey({ ...base, lockfiles: [{ path: 'a.lock', sha256: 'a'.repeat(64) }, { path: './a.lock', sha256: 'b'.repeat(64) }] }),
    ).toThrow(/listed twice with different digests/);
    expect(() => dependencyKey({ ...base, servicePath: '../elsewhere' })).toThrow(/climbs out/);
    expect(() => dependencyKey({ ...base, platform: '' })).toThrow(/platform must not be empty/);
    expect(() => dependencyKey({ ...base, toolchain: { node: 20 as unknown as string } })).toThrow(/toolchain value of "node" must be a string/);
  });
});

describe('buildOutputKey', () => {
  it('changes when any one field changes, and differs from a dependency key of the same text', () => {
    const fields = ['inputsDigest', 'dependencyKey', 'buildCommand', 'env'] as const;
    fc.assert(
      fc.property(outputInput, outputInput, fc.constantFrom(...fields), (input, other, field) => {
        const changed = { ...input, [field]: other[field] };
        const same = canonicalJson(changed) === canonicalJson(input);
        expect(buildOutputKey(changed) === buildOutputKey(input)).toBe(same);
      }),
    );
  });

  it('does not depend on the order of env entries', () => {
    fc.assert(
      fc.property(outputInput, (input) => {
        expect(buildOutputKey({ ...input, env: Object.fromEntries(Object.entries(input.env).reverse()) })).toBe(buildOutputKey(input));
      }),
    );
  });

  it('refuses a digest that is not one', () => {
    expect(() => buildOutputKey({ inputsDigest: 'x', dependencyKey: 'a'.repeat(64), buildCommand: 'npm run build', env: {} })).toThrow(/inputs digest must be a sha256 digest/);
  });
});

describe('canonicalJson', () => {
  it('gives one text for objects whatever their key order', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (value) => {
        const reversed = Object.fromEntries(Object.entries(value).reverse());
        expect(canonicalJson(reversed)).toBe(canonicalJson(value));
        expect(JSON.parse(canonicalJson(value))).toEqual(JSON.parse(JSON.stringify(value)));
      }),
    );
  });
});

/** What the key sees of an input: lockfiles as a sorted set, "." as "". */
function normalise(input: DependencyKeyInput): unknown {
  return {
    ...input,
    servicePath: input.servicePath === '.' ? '' : input.servicePath,
    lockfiles: [...input.lockfiles].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)),
    env: input.env ?? {},
  };
}
