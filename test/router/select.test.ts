import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { selectBackend, type Backend, type Route } from '../../src/router/index.js';
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
        // A seeded generator so a failure replays exactly.
        let state = seed >>> 0 || 1;
        const random = (): number => {
          state ^= state << 13;
          state ^= state >>> 17;
          state ^= state << 5;
          return (state >>> 0) / 2 ** 32;
        };
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
