import { describe, expect, it } from 'vitest';
import { SESSION_IDLE_MS, csrfMatches, generateCsrfToken, generateSessionSecret, hashToken, sessionState } from '../../src/identity/index.js';

describe('sessions', () => {
  it('end at their expiry, or after a day without use', () => {
    const now = new Date('2030-01-01T00:00:00Z');
    const later = (ms: number) => new Date(now.getTime() + ms);
    expect(sessionState({ expiresAt: later(1000), lastSeenAt: now }, now)).toBe('active');
    expect(sessionState({ expiresAt: later(0), lastSeenAt: now }, now)).toBe('expired');
    expect(sessionState({ expiresAt: later(SESSION_IDLE_MS * 2), lastSeenAt: now }, later(SESSION_IDLE_MS))).toBe('idle');
    expect(sessionState({ expiresAt: later(SESSION_IDLE_MS * 2), lastSeenAt: now }, later(SESSION_IDLE_MS - 1))).toBe('active');
  });

  it("accept only the session's own CSRF token", () => {
    const csrf = generateCsrfToken();
    const stored = hashToken(csrf);
    expect(csrfMatches(csrf, stored)).toBe(true);
    expect(csrfMatches(generateCsrfToken(), stored)).toBe(false);
    expect(csrfMatches(undefined, stored)).toBe(false);
    expect(csrfMatches('', stored)).toBe(false);
    expect(csrfMatches(stored, stored)).toBe(false);
    expect(generateSessionSecret()).toMatch(/^mas_[A-Za-z0-9_-]{43}$/);
  });
});
