import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkNewPassword, hashPassword, parsePasswordHash, verifyPassword } from '../../src/identity/index.js';
import { rejection } from '../errors.js';

// Small costs keep the property runs quick; the format and the comparison are the same at any cost.
const CHEAP = { N: 1024, r: 8, p: 1 };

describe('passwords', () => {
  it('hash with scrypt, a salt of their own and the parameters beside the hash', async () => {
    const first = await hashPassword('correct horse battery staple');
    const second = await hashPassword('correct horse battery staple');
    expect(first).toMatch(/^scrypt\$32768\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(first).not.toBe(second);
    expect(first).not.toContain('horse');
    expect(await verifyPassword('correct horse battery staple', first)).toBe(true);
    expect(await verifyPassword('correct horse battery stapl', first)).toBe(false);
    expect(parsePasswordHash(first)?.parameters).toEqual({ N: 32768, r: 8, p: 1 });
  });

  it('verify exactly the password they were made from', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ minLength: 1, maxLength: 40 }), fc.string({ minLength: 1, maxLength: 40 }), async (password, other) => {
        const stored = await hashPassword(password, CHEAP);
        expect(await verifyPassword(password, stored)).toBe(true);
        expect(await verifyPassword(other, stored)).toBe(other === password);
      }),
      { numRuns: 25 },
    );
  });

  it('read hashes made with other costs, and match nothing for a hash they cannot read', async () => {
    expect(await verifyPassword('pw-1234567', await hashPassword('pw-1234567', CHEAP))).toBe(true);
    const valid = await hashPassword('pw-1234567', CHEAP);
    const [, , r, p, salt, hash] = valid.split('$');
    for (const broken of ['', 'plain', `bcrypt$1024$${r}$${p}$${salt}$${hash}`, `scrypt$1000$${r}$${p}$${salt}$${hash}`, `scrypt$${2 ** 24}$${r}$${p}$${salt}$${hash}`, `scrypt$1024$${r}$${p}$$${hash}`]) {
      expect(await verifyPassword('pw-1234567', broken)).toBe(false);
    }
  });

  it('ask for new passwords long enough, and not absurdly long', async () => {
    expect((await rejection(Promise.resolve().then(() => checkNewPassword('short')))).message).toContain('at least 10 characters');
    expect((await rejection(Promise.resolve().then(() => checkNewPassword('x'.repeat(1025))))).message).toContain('at most 1024');
    expect(() => checkNewPassword('long enough password')).not.toThrow();
  });
});
