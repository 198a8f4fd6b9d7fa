import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { comparePep440, formatPep440, parsePep440 } from '../../../src/supply-chain/vulns/index.js';

const order = (a: string, b: string): number => comparePep440(parsePep440(a)!, parsePep440(b)!);

/** Python's own `packaging` (what pip uses), when this machine has it: the reference the implementation follows. */
function python(strings: string[]): Array<{ normal: string | null; rank: number | null }> | undefined {
  const script = `
import json, sys
from packaging.version import Version, InvalidVersion
items = json.load(sys.stdin)
parsed = []
for text in items:
    try:
        parsed.append(Version(text))
    except InvalidVersion:
        parsed.append(None)
valid = sorted({v for v in parsed if v is not None})
out = [{"normal": str(v), "rank": valid.index(v)} if v is not None else {"normal": None, "rank": None} for v in parsed]
json.dump(out, sys.stdout)
`;
  const run = spawnSync('python3', ['-c', script], { input: JSON.stringify(strings), encoding: 'utf8' });
  if (run.status !== 0) return undefined;
  return JSON.parse(run.stdout) as Array<{ normal: string | null; rank: number | null }>;
}
const hasPackaging = python(['1.0']) !== undefined;
if (!hasPackaging) console.warn('pep440: python3 with `packaging` is missing, so the comparison with pip\'s own ordering is skipped (pip install packaging)');

// Versions as people write them: any case, optional separators, implicit numbers, spelled-out labels.
const sep = fc.constantFrom('', '.', '-', '_');
const num = fc.oneof(fc.integer({ min: 0, max: 12 }).map(String), fc.constantFrom('00', '007', '2024', '99999999999999999999'));
const versionText = fc
  .record({
    v: fc.constantFrom('', 'v', 'V'),
    epoch: fc.option(num, { nil: undefined }),
    release: fc.array(num, { minLength: 1, maxLength: 4 }),
    pre: fc.option(fc.tuple(sep, fc.constantFrom('a', 'b', 'c', 'rc', 'alpha', 'beta', 'pre', 'preview', 'RC', 'Alpha'), sep, fc.option(num, { nil: '' })), { nil: undefined }),
    post: fc.option(
      fc.oneof(
        num.map((n) => `-${n}`),
        fc.tuple(sep, fc.constantFrom('post', 'rev', 'r', 'POST'), sep, fc.option(num, { nil: '' })).map((parts) => parts.join('')),
      ),
      { nil: undefined },
    ),
    dev: fc.option(fc.tuple(sep, fc.constantFrom('dev', 'DEV'), sep, fc.option(num, { nil: '' })), { nil: undefined }),
    local: fc.option(fc.array(fc.oneof(num, fc.constantFrom('ubuntu', 'abc', 'deadbeef', 'A1')), { minLength: 1, maxLength: 3 }), { nil: undefined }),
  })
  .map((p) => {
    let text = `${p.v}${p.epoch !== undefined ? `${p.epoch}!` : ''}${p.release.join('.')}`;
    if (p.pre) text += p.pre.join('');
    if (p.post) text += p.post;
    if (p.dev) text += p.dev.join('');
    if (p.local) text += `+${p.local.join('.')}`;
    return text;
  });

describe('PEP 440 versions', () => {
  it('orders the examples of PEP 440 itself', () => {
    const ascending = [
      '1.0.dev456', '1.0a1', '1.0a2.dev456', '1.0a12.dev456', '1.0a12', '1.0b1.dev456', '1.0b2', '1.0b2.post345.dev456', '1.0b2.post345',
      '1.0rc1.dev456', '1.0rc1', '1.0', '1.0+abc.5', '1.0+abc.7', '1.0+5', '1.0.post456.dev34', '1.0.post456', '1.0.15', '1.1.dev1',
    ];
    for (let i = 0; i < ascending.length - 1; i++) expect(order(ascending[i]!, ascending[i + 1]!), `${ascending[i]} < ${ascending[i + 1]}`).toBe(-1);
    expect(order('1!0.1', '2.0')).toBe(1);
  });

  it('reads the spellings PEP 440 normalises', () => {
    const cases: Array<[string, string]> = [
      ['1.0', '1.0'], ['V1.0', '1.0'], ['1.0ALPHA1', '1.0a1'], ['1.0-beta.2', '1.0b2'], ['1.0c1', '1.0rc1'], ['1.0preview', '1.0rc0'],
      ['1.0-1', '1.0.post1'], ['1.0.rev2', '1.0.post2'], ['1.0r', '1.0.post0'], ['1.0.dev', '1.0.dev0'], ['1.0+Ubuntu-1', '1.0+ubuntu.1'],
      ['01.002', '1.2'], ['0!1.0', '1.0'], [' 2.0 ', '2.0'],
    ];
    for (const [text, normal] of cases) expect(formatPep440(parsePep440(text)!), text).toBe(normal);
    expect(order('1.0', '1.0.0')).toBe(0);
    expect(order('2.11.3', '2.11.10')).toBe(-1);
    for (const bad of ['', 'latest', '1.0-dev-foo', '1..0', '1.0+', '1.0+abc_', 'dev1', '1.0 .1']) expect(parsePep440(bad), bad).toBeUndefined();
  });

  it('is a total order: antisymmetric, and sorting is consistent with every pair', () => {
    fc.assert(
      fc.property(fc.array(versionText, { minLength: 2, maxLength: 12 }), (texts) => {
        const versions = texts.map((text) => parsePep440(text)!);
        expect(versions.every(Boolean)).toBe(true);
        const sorted = [...versions].sort(comparePep440);
        for (let i = 0; i < sorted.length; i++) {
          for (let j = i; j < sorted.length; j++) {
            expect(comparePep440(sorted[i]!, sorted[j]!)).toBeLessThanOrEqual(0);
            expect(Math.sign(comparePep440(sorted[j]!, sorted[i]!))).toBe(-Math.sign(comparePep440(sorted[i]!, sorted[j]!)) || 0);
          }
        }
      }),
    );
  });

  it('normal forms read back as the same version', () => {
    fc.assert(
      fc.property(versionText, (text) => {
        const version = parsePep440(text)!;
        const again = parsePep440(formatPep440(version))!;
        expect(comparePep440(version, again)).toBe(0);
        expect(formatPep440(again)).toBe(formatPep440(version));
      }),
    );
  });

  it.skipIf(!hasPackaging)("agrees with pip's packaging on validity, normal form and order", () => {
    const junk = fc.stringMatching(/^[0-9a-zA-Z.!+_ -]{0,14}$/);
    const texts = fc.sample(fc.oneof({ weight: 4, arbitrary: versionText }, { weight: 1, arbitrary: junk }), { numRuns: 600, seed: 440 });
    const reference = python(texts)!;
    texts.forEach((text, i) => {
      const mine = parsePep440(text);
      expect(mine ? formatPep440(mine) : null, JSON.stringify(text)).toBe(reference[i]!.normal);
    });
    const valid = texts.map((text, i) => ({ text, rank: reference[i]!.rank })).filter((item) => item.rank !== null);
    for (let i = 0; i < valid.length; i += 3) {
      for (let j = 0; j < valid.length; j += 7) {
        const a = valid[i]!;
        const b = valid[j]!;
        expect(Math.sign(order(a.text, b.text)), `${a.text} vs ${b.text}`).toBe(Math.sign(a.rank! - b.rank!));
      }
    }
  });
});
