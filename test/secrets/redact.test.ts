import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Redactor, redactionMarker } from '../../src/secrets/index.js';

const MARKER = /\[redacted:[A-Z0-9_]+\]/g;

/** The text outside markers, line breaks removed: where a value must never be found. */
function shown(output: string): string[] {
  return output.split(MARKER).map((segment) => segment.replace(/[\r\n]/g, ''));
}

/**
 * Independently of the redactor: the base64 characters of an encoding of `before + value + after`
 * that only the value's bytes decide, found by flipping every bit around the value and keeping what
 * did not change (the longest such run).
 */
function embeddedBase64(before: Buffer, value: Buffer, after: Buffer): { encoded: string; core: string } {
  const flip = (bytes: Buffer) => Buffer.from(bytes.map((byte) => byte ^ 0xff));
  const encoded = Buffer.concat([before, value, after]).toString('base64');
  const other = Buffer.concat([flip(before), value, flip(after)]).toString('base64');
  let best = '';
  let run = '';
  for (let i = 0; i < encoded.length; i += 1) {
    run = encoded[i] === other[i] ? run + encoded[i] : '';
    if (run.length > best.length) best = run;
  }
  return { encoded, core: best };
}

/** Cuts a text into chunks at the given points. */
function chunksOf(text: string, cuts: number[]): string[] {
  const points = [...new Set(cuts.map((cut) => cut % (text.length + 1)))].sort((a, b) => a - b);
  const chunks: string[] = [];
  let from = 0;
  for (const point of points) {
    chunks.push(text.slice(from, point));
    from = point;
  }
  chunks.push(text.slice(from));
  return chunks;
}

function streamed(redactor: Redactor, chunks: string[]): string {
  const stream = redactor.stream();
  return chunks.map((chunk) => stream.push(chunk)).join('') + stream.end();
}

// Values a secret may hold: at least 4 characters besides line breaks, any Unicode, sometimes multi-line.
const valueArb = fc
  .oneof(
    fc.string({ minLength: 4, maxLength: 40 }),
    fc.string({ unit: 'grapheme', minLength: 4, maxLength: 20 }),
    fc.tuple(fc.string({ minLength: 2, maxLength: 20 }), fc.string({ minLength: 2, maxLength: 20 })).map(([a, b]) => `${a}\n${b}`),
    fc.base64String({ minLength: 8, maxLength: 40 }),
  )
  .filter((value) => value.replace(/[\r\n]/g, '').length >= 4 && !value.includes('\0'));
const nameArb = fc.stringMatching(/^[A-Z_][A-Z0-9_]{0,10}$/);
const noiseArb = fc.string({ maxLength: 30 });
// A value that is part of the marker text itself can only be "shown" as the marker: leave those out.
const secretsArb = fc
  .uniqueArray(fc.record({ name: nameArb, value: valueArb }), { minLength: 1, maxLength: 3, selector: (s) => s.name })
  .filter((secrets) => secrets.every(({ value }) => !secrets.some(({ name }) => redactionMarker(name).includes(value.replace(/[\r\n]/g, '')))));

/** How a program may print a value: as it is, in base64 (alone or inside a longer encoding), URL-encoded, split over two lines. */
const formArb = fc.constantFrom('plain', 'base64', 'base64url', 'embedded', 'url', 'two-lines', 'wrapped', 'json');

function printed(value: string, form: string, before: Buffer, after: Buffer, split: number): string {
  const bytes = Buffer.from(value, 'utf8');
  switch (form) {
    case 'base64':
      return bytes.toString('base64');
    case 'base64url':
      return bytes.toString('base64url');
    case 'embedded':
      return embeddedBase64(before, bytes, after).encoded;
    case 'url':
      return encodeURIComponent(value);
    case 'json':
      return JSON.stringify(value);
    case 'two-lines': {
      const at = 1 + (split % (value.length - 1));
      return `${value.slice(0, at)}\n${value.slice(at)}`;
    }
    case 'wrapped':
      // `base64` wraps its output at 76 columns.
      return (bytes.toString('base64').match(/.{1,76}/g) ?? []).join('\n');
    default:
      return value;
  }
}

/** Everything that must not appear outside a marker, for one value printed in one form. */
function forbidden(value: string, form: string, before: Buffer, after: Buffer): string[] {
  const flat = value.replace(/[\r\n]/g, '');
  const bytes = Buffer.from(value, 'utf8');
  switch (form) {
    case 'base64':
    case 'wrapped':
      return [bytes.toString('base64').replace(/=+$/, '')];
    case 'base64url':
      return [bytes.toString('base64url')];
    case 'embedded':
      return [embeddedBase64(before, bytes, after).core].filter((core) => core.length >= 4);
    case 'url':
      return [encodeURIComponent(value)];
    default:
      return [flat];
  }
}

describe('the redactor', () => {
  it('never shows a value, in any form, embedded anywhere and cut into chunks anywhere', () => {
    fc.assert(
      fc.property(
        secretsArb,
        fc.array(fc.tuple(noiseArb, fc.nat(), formArb, fc.uint8Array({ maxLength: 2 }), fc.uint8Array({ maxLength: 2 }), fc.nat()), { minLength: 1, maxLength: 4 }),
        noiseArb,
        fc.array(fc.nat(), { maxLength: 6 }),
        (secrets, pieces, tail, cuts) => {
          const redactor = new Redactor(secrets);
          const must: string[] = [];
          let text = '';
          for (const [noise, which, form, before, after, split] of pieces) {
            const secret = secrets[which % secrets.length]!;
            const b = Buffer.from(before);
            const a = Buffer.from(after);
            text += noise + printed(secret.value, form, b, a, split);
            must.push(...forbidden(secret.value, form, b, a));
          }
          text += tail;
          const output = streamed(redactor, chunksOf(text, cuts));
          for (const segment of shown(output)) for (const value of must) expect(segment).not.toContain(value);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('gives the same output however a stream is cut', () => {
    fc.assert(
      fc.property(secretsArb, fc.array(fc.oneof(noiseArb, fc.constantFrom('\n', '\r\n')), { maxLength: 8 }), fc.array(fc.nat(), { maxLength: 8 }), (secrets, parts, cuts) => {
        const redactor = new Redactor(secrets);
        // Some values and halves of values among the noise.
        const text = parts.map((part, i) => (i % 2 === 0 ? part : `${part}${secrets[i % secrets.length]!.value.slice(0, 2 + (i % 5))}`)).join('') + secrets[0]!.value;
        expect(streamed(redactor, chunksOf(text, cuts))).toBe(redactor.redact(text));
        expect(streamed(redactor, [...text])).toBe(redactor.redact(text));
      }),
      { numRuns: 300 },
    );
  });

  it('leaves text without any value as it is', () => {
    fc.assert(
      fc.property(secretsArb, fc.string({ maxLength: 200 }), fc.array(fc.nat(), { maxLength: 5 }), (secrets, text, cuts) => {
        const redactor = new Redactor(secrets);
        const output = streamed(redactor, chunksOf(text, cuts));
        if (!MARKER.test(output)) expect(output).toBe(text);
        MARKER.lastIndex = 0;
      }),
    );
  });

  it('names the secret, keeps line breaks inside a value, and hides the longer of two overlapping values whole', () => {
    const redactor = new Redactor([
      { name: 'TOKEN', value: 'tok-1234' },
      { name: 'LONG_TOKEN', value: 'tok-1234-5678' },
      { name: 'KEY', value: '-----BEGIN KEY-----\nMIIEvQIBADANBgkq\n-----END KEY-----' },
    ]);
    expect(redactor.redact('a tok-1234 b tok-1234-5678 c')).toBe('a [redacted:TOKEN] b [redacted:LONG_TOKEN] c');
    expect(redactor.redact('key: -----BEGIN KEY-----\r\nMIIEvQIBADANBgkq\r\n-----END KEY----- done')).toBe('key: [redacted:KEY]\r\n\r\n done');
    expect(redactor.redact('half tok-12\n34 on two lines')).toBe('half [redacted:TOKEN]\n on two lines');
    expect(redactor.redact(`b64 ${Buffer.from('tok-1234').toString('base64')}.`)).toBe('b64 [redacted:TOKEN].');
    expect(redactor.redact(`url tok%2D1234 ${encodeURIComponent('tok-1234-5678')}`)).toBe('url tok%2D1234 [redacted:LONG_TOKEN]');
  });

  it('keeps back only what may begin a value, so ordinary output flows at once', () => {
    const stream = new Redactor([{ name: 'TOKEN', value: 'secret-value' }]).stream();
    expect(stream.push('listening on 3000\n')).toBe('listening on 3000\n');
    expect(stream.holding).toBe(false);
    expect(stream.push('value: sec')).toBe('value: ');
    expect(stream.holding).toBe(true);
    expect(stream.push('ret-value!\n')).toBe('[redacted:TOKEN]!\n');
    expect(stream.push('sec')).toBe('');
    expect(stream.end()).toBe('sec');
  });

  it('hides every string of a JSON-like value, not its keys', () => {
    const redactor = new Redactor([{ name: 'PASSWORD', value: 'hunter22' }]);
    const at = new Date(0);
    expect(redactor.redactDeep({ message: 'pw hunter22', nested: [{ hunter22: 'x hunter22' }], count: 3, at })).toEqual({
      message: 'pw [redacted:PASSWORD]',
      nested: [{ hunter22: 'x [redacted:PASSWORD]' }],
      count: 3,
      at,
    });
    expect(Redactor.none.redact('hunter22')).toBe('hunter22');
  });
});
