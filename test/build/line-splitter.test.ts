import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LineSplitter } from '../../src/build/line-splitter.js';
import { redactor } from '../../src/build/log-tail.js';

function splitInChunks(bytes: Buffer, cuts: number[], maxLine?: number): string[] {
  const lines: string[] = [];
  const splitter = new LineSplitter((line) => lines.push(line), maxLine);
  let start = 0;
  for (const cut of [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b)) {
    splitter.push(bytes.subarray(start, cut));
    start = cut;
  }
  splitter.push(bytes.subarray(start));
  splitter.end();
  return lines;
}

describe('LineSplitter', () => {
  it('gives the same lines however the bytes are chunked (\\n, \\r\\n, \\r, multi-byte characters)', () => {
    const text = fc.array(fc.constantFrom('a', 'é', '🚀', ' ', '\n', '\r', '\r\n'), { maxLength: 40 }).map((parts) => parts.join(''));
    fc.assert(
      fc.property(text, fc.array(fc.nat(), { maxLength: 6 }), (value, cuts) => {
        const expected = value.split(/\r\n|\n|\r/);
        if (expected.at(-1) === '') expected.pop();
        expect(splitInChunks(Buffer.from(value), cuts)).toEqual(expected);
      }),
    );
  });

  it('cuts lines that never end into bounded pieces', () => {
    expect(splitInChunks(Buffer.from('x'.repeat(25)), [3, 11], 10)).toEqual(['x'.repeat(10), 'x'.repeat(10), 'x'.repeat(5)]);
  });
});

describe('redactor', () => {
  it('hides each secret, longest first, and multi-line secrets line by line', () => {
    const redact = redactor(['abc', 'abcdef', '', '-----BEGIN KEY-----\nMIIEvQIBADANBgkq\n-----END KEY-----']);
    expect(redact('x abcdef y abc')).toBe('x *** y ***');
    expect(redact('MIIEvQIBADANBgkq')).toBe('***');
    expect(redact('nothing here')).toBe('nothing here');
  });
});
