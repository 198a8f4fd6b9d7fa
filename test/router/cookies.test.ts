import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseCookies, routingOverrides, STICKY_COOKIE } from '../../src/router/index.js';
import { clearedStickyCookie, stickyCookie } from '../../src/router/cookies.js';

// RFC 6265 cookie names (tokens) and values (cookie-octets): what a browser sends for cookies it stored.
const TOKEN_CHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".split('');
const VALUE_CHARS = [...TOKEN_CHARS, '(', ')', '/', ':', '<', '=', '>', '?', '@', '[', ']', '{', '}'];
const name = fc.string({ unit: fc.constantFrom(...TOKEN_CHARS), minLength: 1, maxLength: 12 });
const value = fc.string({ unit: fc.constantFrom(...VALUE_CHARS), maxLength: 20 });

describe('parsing the Cookie header', () => {
  it('property: never throws, whatever the header holds, and only returns names and values it was given', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.array(fc.string({ unit: 'binary' }))), (header) => {
        const cookies = parseCookies(header);
        const text = Array.isArray(header) ? header.join('; ') : header;
        for (const [cookieName, cookieValue] of cookies) {
          expect(cookieName).not.toBe('');
          expect(text).toContain(cookieName);
          expect(text).toContain(cookieValue);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('property: reads back what a browser sends, whatever the spacing; the first of a repeated name wins', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(name, value, fc.constantFrom('', ' ', '  '), fc.boolean()), { minLength: 1, maxLength: 8 }),
        (pairs) => {
          const header = pairs.map(([n, v, space, quoted]) => `${space}${n}=${quoted ? `"${v}"` : v}`).join(';');
          const expected = new Map<string, string>();
          for (const [n, v] of pairs) if (!expected.has(n)) expected.set(n, v);
          expect(parseCookies(header)).toEqual(expected);
        },
      ),
    );
  });

  it('skips pairs without a name or an equals sign, and keeps values that hold one', () => {
    expect(parseCookies('=x; flag; a=1; =; b=c=d;;')).toEqual(new Map([['a', '1'], ['b', 'c=d']]));
    expect(parseCookies(undefined)).toEqual(new Map());
    expect(parseCookies(['a=1', 'b=2'])).toEqual(new Map([['a', '1'], ['b', '2']]));
  });

  it('property: a sticky assignment the router sets is read back as the same revision', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...TOKEN_CHARS), minLength: 1, maxLength: 40 }), (revision) => {
        const setCookie = stickyCookie(revision)!;
        expect(setCookie).toMatch(/; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Lax$/);
        // The browser sends back the name=value part only.
        expect(routingOverrides({ cookie: `theme=dark; ${setCookie.split(';')[0]}` }).sticky).toBe(revision);
      }),
    );
  });

  it('sets no cookie for a revision id that cannot be a cookie value, and removes one with Max-Age=0', () => {
    expect(stickyCookie('has space')).toBeUndefined();
    expect(stickyCookie('semi;colon')).toBeUndefined();
    expect(clearedStickyCookie()).toBe(`${STICKY_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax`);
  });
});

describe('routing overrides of a request', () => {
  it('reads the header, the maestro-revision cookie and the sticky cookie', () => {
    expect(routingOverrides({ 'x-maestro-revision': 'canary', cookie: 'maestro-revision=stable; maestro-sticky=rev_a' })).toEqual({
      revision: 'canary',
      cookieRevision: 'stable',
      sticky: 'rev_a',
    });
    expect(routingOverrides({})).toEqual({});
    // An empty header or cookie says nothing.
    expect(routingOverrides({ 'x-maestro-revision': '', cookie: 'maestro-revision=; maestro-sticky=' })).toEqual({});
  });
});
