import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { composeRouteTable, normaliseWeights, serviceHost } from '../../src/rollout/index.js';
import { validateRouteTable } from '../../src/router/index.js';

describe('composing route tables', () => {
  it('routes a live service to the healthy replicas of its revision only', () => {
    const table = composeRouteTable(
      [{ project: 'shop', service: 'web', environment: 'production', weights: [{ revisionId: 'rev_a', weight: 100 }] }],
      [
        { revisionId: 'rev_a', port: 4001, healthy: true },
        { revisionId: 'rev_a', port: 4002, healthy: false },
        { revisionId: 'rev_b', port: 4003, healthy: true },
      ],
      7,
    );
    expect(table).toEqual({
      version: 7,
      routes: [
        {
          host: 'web.production.shop.localhost',
          project: 'shop',
          service: 'web',
          environment: 'production',
          backends: [{ revision: 'rev_a', weight: 100, upstreams: ['127.0.0.1:4001'] }],
        },
      ],
    });
    expect(() => validateRouteTable(table)).not.toThrow();
  });

  it('splits traffic during a rollout and serves the new revision alone at its preview host', () => {
    const table = composeRouteTable(
      [
        {
          project: 'shop',
          service: 'web',
          environment: 'production',
          weights: [
            { revisionId: 'rev_stable', weight: 90 },
            { revisionId: 'rev_canary', weight: 10 },
          ],
          previewRevisionId: 'rev_canary',
        },
      ],
      [
        { revisionId: 'rev_stable', port: 4001, healthy: true },
        { revisionId: 'rev_canary', port: 4002, healthy: true },
      ],
      3,
    );
    expect(table.routes.map((route) => [route.host, route.backends.map((b) => [b.revision, b.weight])])).toEqual([
      ['web.preview.production.shop.localhost', [['rev_canary', 100]]],
      ['web.production.shop.localhost', [['rev_stable', 90], ['rev_canary', 10]]],
    ]);
  });

  it('says why a live service has nothing behind it', () => {
    const table = composeRouteTable(
      [{ project: 'shop', service: 'web', environment: 'staging', weights: [{ revisionId: 'rev_a', weight: 100 }] }],
      [{ revisionId: 'rev_a', port: 4001, healthy: false }],
      1,
    );
    expect(table.routes[0]!.backends).toEqual([]);
    expect(table.routes[0]!.unavailableReason).toContain('no healthy replica');
    expect(serviceHost('shop', 'web', 'staging')).toBe(table.routes[0]!.host);
  });

  it('property: every table it makes is one the router accepts (weights sum to 100, no empty backend)', () => {
    const revision = fc.constantFrom('rev_a', 'rev_b', 'rev_c');
    fc.assert(
      fc.property(
        fc.array(fc.record({ revisionId: revision, weight: fc.integer({ min: 0, max: 100 }) }), { minLength: 1, maxLength: 3 }),
        fc.array(fc.record({ revisionId: revision, port: fc.integer({ min: 1024, max: 65535 }), healthy: fc.boolean() }), { maxLength: 8 }),
        (weights, replicas) => {
          const table = composeRouteTable([{ project: 'p', service: 's', environment: 'e', weights }], replicas, 1);
          const route = table.routes[0]!;
          if (route.backends.length > 0) {
            expect(route.backends.reduce((sum, b) => sum + b.weight, 0)).toBe(100);
            for (const backend of route.backends) expect(backend.upstreams.length).toBeGreaterThan(0);
          } else {
            expect(route.unavailableReason).toBeTruthy();
          }
          expect(() => validateRouteTable(table)).not.toThrow();
        },
      ),
    );
  });

  it('property: rescaled weights keep their order and sum to 100', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 1000 }), { minLength: 1, maxLength: 5 }), (weights) => {
        const backends = weights.map((weight, i) => ({ revision: `r${i}`, weight, upstreams: ['127.0.0.1:1'] }));
        const scaled = normaliseWeights(backends);
        expect(scaled.reduce((sum, b) => sum + b.weight, 0)).toBe(100);
      }),
    );
  });
});
