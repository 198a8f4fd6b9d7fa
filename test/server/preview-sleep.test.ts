import { describe, expect, it } from 'vitest';
import { environmentOfHost, isIdle } from '../../src/server/preview-sleep.js';

describe('idle previews', () => {
  const base = { now: 100_000, lastActivity: 10_000, deploying: false };

  it('sleeps once nothing has happened for the idle time, and not a moment before', () => {
    expect(isIdle({ ...base, idleMs: 90_000 })).toBe(true);
    expect(isIdle({ ...base, idleMs: 90_001 })).toBe(false);
  });

  it('never sleeps without an idle time, or while deploying', () => {
    expect(isIdle({ ...base, idleMs: undefined })).toBe(false);
    expect(isIdle({ ...base, idleMs: 0 })).toBe(false);
    expect(isIdle({ ...base, idleMs: 1_000, deploying: true })).toBe(false);
  });

  it('reads the project and environment from a service host, and nothing from other hosts', () => {
    expect(environmentOfHost('web.pr-7.shop.localhost')).toEqual({ project: 'shop', environment: 'pr-7' });
    expect(environmentOfHost('WEB.PR-7.SHOP.LOCALHOST')).toEqual({ project: 'shop', environment: 'pr-7' });
    expect(environmentOfHost('web.preview.production.shop.localhost')).toBeUndefined();
    expect(environmentOfHost('example.com')).toBeUndefined();
  });
});
