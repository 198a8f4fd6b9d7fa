import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { backendForRequest, chooseBackend, parseCookies, selectBackend, STICKY_COOKIE, type Backend, type Route } from '../../src/router/index.js';
import { UpstreamRotation } from '../../src/router/select.js';

/** Backends with integer weights summing to 100 (some may be 0), as validation guarantees. */
const backendsArbitrary = fc
  .array(fc.nat({ max: 100 }), { minLength: 1, maxLength: 5 })
  .filter((cuts) => cuts.length > 0)
  .map((cuts) => {
    const points = [...cuts].sort((a, b) => a - b);
    const weights = points.map((point, index) => point - (index === 0 ? 0 : points[index - 1]!));
    weights.push(100 - points[points.length - 1]!);
    return weights.map((weight, index): Backend => ({ revision: `r${index}`, weight, upstreams: [`127.0.0.1:${2000 + index}`] }));
  });

/** A seeded generator (xorshift) in [0, 1), so a failure replays exactly. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
}

const routeOf = (backends: Backend[]): Route => ({ host: 'web.production.shop.localhost', project: 'shop', service: 'web', environment: 'production', backends });

describe('selectBackend', () => {
  it('only ever chooses a backend with positive weight', () => {
    fc.assert(
      fc.property(backendsArbitrary, fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (backends, random) => {
        const chosen = selectBackend(routeOf(backends), random);
        expect(chosen).toBeDefined();
        expect(chosen!.weight).toBeGreaterThan(0);
      }),
    );
  });

  it('gives each backend a share of draws close to its weight', () => {
    fc.assert(
      fc.property(backendsArbitrary, fc.integer(), (backends, seed) => {
        const draws = 20_000;
        const counts = new Map<string, number>();
        const random = seededRandom(seed);
        for (let draw = 0; draw < draws; draw++) {
          const chosen = selectBackend(routeOf(backends), random())!;
          counts.set(chosen.revision, (counts.get(chosen.revision) ?? 0) + 1);
        }
        for (const backend of backends) {
          const share = ((counts.get(backend.revision) ?? 0) / draws) * 100;
          // 20k draws: the standard deviation of a share is at most 0.35 points; allow ~6 of them.
          expect(Math.abs(share - backend.weight)).toBeLessThan(2);
        }
      }),
      { numRuns: 30 },
    );
  });

  it('maps the unit interval onto weights exactly (70/30 splits at 0.7)', () => {
    const route = routeOf([
      { revision: 'stable', weight: 70, upstreams: ['127.0.0.1:1'] },
      { revision: 'canary', weight: 30, upstreams: ['127.0.0.1:2'] },
    ]);
    expect(selectBackend(route, 0)?.revision).toBe('stable');
    expect(selectBackend(route, 0.6999)?.revision).toBe('stable');
    expect(selectBackend(route, 0.7)?.revision).toBe('canary');
    expect(selectBackend(route, 0.99999)?.revision).toBe('canary');
  });

  it('honours a revision override, even at weight 0, and ignores one the route lacks', () => {
    const route = routeOf([
      { revision: 'stable', weight: 100, upstreams: ['127.0.0.1:1'] },
      { revision: 'canary', weight: 0, upstreams: ['127.0.0.1:2'] },
    ]);
    expect(selectBackend(route, 0.5, { revision: 'canary' })?.revision).toBe('canary');
    expect(selectBackend(route, 0.5, { revision: 'elsewhere' })?.revision).toBe('stable');
  });

  it('has nothing to choose for a route without backends', () => {
    expect(selectBackend(routeOf([]), 0.5)).toBeUndefined();
  });
});

describe('overrides by header and cookie', () => {
  const split = routeOf([
    { revision: 'rev_old', weight: 90, upstreams: ['127.0.0.1:1'], role: 'stable' },
    { revision: 'rev_new', weight: 10, upstreams: ['127.0.0.1:2'], role: 'canary' },
  ]);
  const pick = (headers: Record<string, string>, random = 0.5): string | undefined => backendForRequest(split, headers, random)?.backend.revision;

  it('reaches either side of a split by name (canary, stable) or by revision id, from the header or the cookie', () => {
    expect(pick({ 'x-maestro-revision': 'canary' })).toBe('rev_new');
    expect(pick({ 'x-maestro-revision': 'Canary' })).toBe('rev_new');
    expect(pick({ 'x-maestro-revision': 'stable' }, 0.99)).toBe('rev_old');
    expect(pick({ 'x-maestro-revision': 'rev_new' })).toBe('rev_new');
    expect(pick({ cookie: 'maestro-revision=canary' })).toBe('rev_new');
    expect(pick({ cookie: 'a=b; maestro-revision=stable' }, 0.99)).toBe('rev_old');
    expect(pick({ cookie: 'maestro-revision=rev_new' })).toBe('rev_new');
  });

  it('lets the header win over the cookie, and ignores values the route does not have', () => {
    expect(pick({ 'x-maestro-revision': 'stable', cookie: 'maestro-revision=canary' }, 0.99)).toBe('rev_old');
    // An unknown header leaves the cookie to decide; unknown everywhere means the normal weights.
    expect(pick({ 'x-maestro-revision': 'nightly', cookie: 'maestro-revision=canary' })).toBe('rev_new');
    expect(pick({ 'x-maestro-revision': 'nightly', cookie: 'maestro-revision=rev_gone' }, 0.1)).toBe('rev_old');
    expect(pick({ 'x-maestro-revision': 'nightly', cookie: 'maestro-revision=rev_gone' }, 0.95)).toBe('rev_new');
  });

  it('has no canary or stable outside a split, so those names fall back to the weights', () => {
    const single = routeOf([{ revision: 'rev_only', weight: 100, upstreams: ['127.0.0.1:1'] }]);
    expect(backendForRequest(single, { 'x-maestro-revision': 'canary' }, 0.3)?.backend.revision).toBe('rev_only');
    expect(backendForRequest(single, { cookie: 'maestro-revision=stable' }, 0.3)?.via).toBe('weights');
  });

  it('property: an override never sends a request to a backend without upstreams, and never fails a route that can serve', () => {
    const pin = fc.oneof(fc.constantFrom('r0', 'r1', 'r2', 'canary', 'stable'), fc.string());
    fc.assert(
      fc.property(backendsArbitrary, fc.array(fc.boolean()), pin, pin, fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (backends, emptied, header, cookie, random) => {
        // Weightless backends may have lost their replicas; the first is the canary side of the split.
        const withGaps = backends.map((backend, index) => ({
          ...backend,
          ...(backend.weight === 0 && emptied[index] ? { upstreams: [] } : {}),
          ...(index === 0 ? { role: 'canary' as const } : {}),
        }));
        const routing = backendForRequest(routeOf(withGaps), { 'x-maestro-revision': header, cookie: `maestro-revision=${cookie}` }, random);
        expect(routing).toBeDefined();
        expect(routing!.backend.upstreams.length).toBeGreaterThan(0);
        if (routing!.via === 'weights') expect(routing!.backend.weight).toBeGreaterThan(0);
      }),
    );
  });
});

describe('sticky assignment', () => {
  const stickyRoute = (stable: number, canary: number, extra: Partial<Route> = {}): Route => ({
    ...routeOf(
      [
        { revision: 'rev_old', weight: stable, upstreams: ['127.0.0.1:1'], role: 'stable' as const },
        { revision: 'rev_new', weight: canary, upstreams: ['127.0.0.1:2'], role: 'canary' as const },
      ].filter((backend) => backend.weight > 0),
    ),
    sticky: true,
    ...extra,
  });

  it('assigns a new client by weight and sets a cookie naming the revision, then keeps it there', () => {
    const route = stickyRoute(90, 10);
    const first = backendForRequest(route, {}, 0.95)!;
    expect(first.backend.revision).toBe('rev_new');
    expect(first.via).toBe('weights');
    expect(first.setCookie).toMatch(/^maestro-sticky=rev_new; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Lax$/);
    // Any later draw: the cookie decides, and no new cookie is needed.
    for (const random of [0, 0.3, 0.99]) {
      const later = backendForRequest(route, { cookie: 'maestro-sticky=rev_new' }, random)!;
      expect(later.backend.revision).toBe('rev_new');
      expect(later.via).toBe('sticky');
      expect(later.setCookie).toBeUndefined();
    }
  });

  it('reassigns and replaces the cookie when its revision has left the route, lost its weight or its upstreams', () => {
    const gone = backendForRequest(stickyRoute(90, 10), { cookie: 'maestro-sticky=rev_gone' }, 0.1)!;
    expect([gone.backend.revision, gone.via]).toEqual(['rev_old', 'weights']);
    expect(gone.setCookie).toContain('maestro-sticky=rev_old');
    const weightless = { ...stickyRoute(100, 0), backends: [...stickyRoute(100, 0).backends, { revision: 'rev_new', weight: 0, upstreams: ['127.0.0.1:2'] }] };
    expect(backendForRequest(weightless, { cookie: 'maestro-sticky=rev_new' }, 0.99)!.backend.revision).toBe('rev_old');
  });

  it('lets a tester override a sticky assignment without changing it', () => {
    const pinned = backendForRequest(stickyRoute(90, 10), { 'x-maestro-revision': 'canary', cookie: 'maestro-sticky=rev_old' }, 0.1)!;
    expect([pinned.backend.revision, pinned.via, pinned.setCookie]).toEqual(['rev_new', 'override', undefined]);
  });

  it('ignores the cookie on a route that is not sticky and removes it', () => {
    const plain = { ...stickyRoute(90, 10), sticky: undefined };
    const routing = backendForRequest(plain, { cookie: 'maestro-sticky=rev_new' }, 0.1)!;
    expect(routing.backend.revision).toBe('rev_old');
    expect(routing.setCookie).toMatch(/^maestro-sticky=; .*Max-Age=0/);
    expect(backendForRequest(plain, {}, 0.1)!.setCookie).toBeUndefined();
  });

  /**
   * A population of clients with cookie jars through a canary's life: split at 10%, then 50%, then
   * promoted (the new revision alone, the route no longer sticky) or rolled back (the old one alone).
   */
  it('property: clients stay where they were first sent while the split lasts, and all land on the survivor after it', () => {
    const lifeOf = fc.tuple(fc.integer({ min: 1, max: 99 }), fc.integer({ min: 1, max: 99 }), fc.constantFrom('promoted', 'rolled back'), fc.integer());
    fc.assert(
      fc.property(lifeOf, ([firstWeight, secondWeight, ending, seed]) => {
        const random = seededRandom(seed);
        const jars = Array.from({ length: 40 }, () => new Map<string, string>());
        const visit = (route: Route, jar: Map<string, string>): string => {
          const cookie = [...jar].map(([cookieName, cookieValue]) => `${cookieName}=${cookieValue}`).join('; ');
          const routing = backendForRequest(route, cookie ? { cookie } : {}, random())!;
          if (routing.setCookie) {
            const [pair] = routing.setCookie.split(';');
            const [cookieName, cookieValue] = [...parseCookies(pair!)][0] ?? [STICKY_COOKIE, ''];
            if (/Max-Age=0/.test(routing.setCookie)) jar.delete(cookieName);
            else jar.set(cookieName, cookieValue);
          }
          return routing.backend.revision;
        };
        const assigned = jars.map((jar) => visit(stickyRoute(100 - firstWeight, firstWeight), jar));
        for (const route of [stickyRoute(100 - firstWeight, firstWeight), stickyRoute(100 - secondWeight, secondWeight)]) {
          jars.forEach((jar, index) => expect(visit(route, jar)).toBe(assigned[index]));
        }
        const survivor = ending === 'promoted' ? 'rev_new' : 'rev_old';
        const after = routeOf([{ revision: survivor, weight: 100, upstreams: ['127.0.0.1:9'] }]);
        for (const jar of jars) {
          expect(visit(after, jar)).toBe(survivor);
          expect(jar.has(STICKY_COOKIE)).toBe(false);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('property: on a sticky route every weighted draw sets a cookie for the chosen revision, nothing else does', () => {
    fc.assert(
      fc.property(backendsArbitrary, fc.option(fc.constantFrom('r0', 'r1', 'r2', 'gone')), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (backends, sticky, random) => {
        const route = { ...routeOf(backends), sticky: true };
        const routing = backendForRequest(route, sticky === null ? {} : { cookie: `maestro-sticky=${sticky}` }, random)!;
        if (routing.via === 'weights') expect(routing.setCookie).toContain(`maestro-sticky=${routing.backend.revision};`);
        else expect(routing.setCookie).toBeUndefined();
        const honoured = backends.find((backend) => backend.revision === sticky && backend.weight > 0);
        if (honoured) expect(chooseBackend(route, random, { sticky: sticky! })?.backend).toBe(honoured);
      }),
    );
  });
});

describe('UpstreamRotation', () => {
  it('cycles through every upstream of a backend in turn, and steps around a failed one', () => {
    const rotation = new UpstreamRotation();
    const backend: Backend = { revision: 'r1', weight: 100, upstreams: ['a:1', 'b:1', 'c:1'] };
    const picks = Array.from({ length: 6 }, () => rotation.next(backend));
    expect(picks).toEqual(['a:1', 'b:1', 'c:1', 'a:1', 'b:1', 'c:1']);
    expect(rotation.next(backend, 'a:1')).not.toBe('a:1');
    expect(rotation.next({ revision: 'solo', weight: 100, upstreams: ['a:1'] }, 'a:1')).toBeUndefined();
  });
});
