import { describe, expect, it } from 'vitest';
import { describeChecks, parsePredicateType, parseTarget } from '../../../src/cli/commands/verify.js';

const DIGEST = 'ab'.repeat(32);

describe('maestro verify: reading its argument and options', () => {
  it('takes a digest (with or without sha256:) unless a file has that name, else a file, else says what it wants', () => {
    const none = () => false;
    expect(parseTarget(DIGEST, none)).toEqual({ kind: 'digest', digest: DIGEST });
    expect(parseTarget(`sha256:${DIGEST}`, none)).toEqual({ kind: 'digest', digest: DIGEST });
    expect(parseTarget(DIGEST, (path) => path === DIGEST)).toEqual({ kind: 'file', path: DIGEST });
    expect(parseTarget('app.tar.gz', (path) => path === 'app.tar.gz')).toEqual({ kind: 'file', path: 'app.tar.gz' });
    expect(() => parseTarget('ABCD', none)).toThrow('"ABCD" is neither an artifact digest (64 lowercase hex, optionally sha256:) nor a file here');
  });

  it('knows provenance and sbom by name and takes any other predicate type as a URI', () => {
    expect(parsePredicateType('provenance')).toBe('https://slsa.dev/provenance/v1');
    expect(parsePredicateType('sbom')).toBe('https://cyclonedx.org/bom');
    expect(parsePredicateType('https://example.com/predicate/v1')).toBe('https://example.com/predicate/v1');
    expect(() => parsePredicateType('sbomm')).toThrow('--type takes provenance, sbom or a predicate type URI, got "sbomm"');
  });

  it('prints one aligned line per check and a verdict', () => {
    expect(
      describeChecks([
        { name: 'signature', ok: true, detail: 'signed by key 12' },
        { name: 'subject', ok: false, detail: 'subject digest sha256:aa does not match the artifact sha256:bb' },
      ]),
    ).toEqual([
      'ok    signature  signed by key 12',
      'FAIL  subject    subject digest sha256:aa does not match the artifact sha256:bb',
      'NOT verified: 1 of 2 checks failed',
    ]);
  });
});
