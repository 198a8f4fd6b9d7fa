import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { composeRouteTable, normaliseWeights, serviceHost, type LiveService } from '../../src/rollout/index.js';
import { validateRouteTable } from '../../src/router/index.js';

/** A rollout at 10% with a preview host, and healthy replicas of both revisions. */
const rollout: LiveService = {
  project: 'shop',
  service: 'web',
  environment: 'production',
  weights: [
    { revisionId: 'rev_stable', weight: 90 },
    { revisionId: 'rev_canary', weight: 10 },
  ],
  previewRevisionId: 'rev_canary',
};
const bothHealthy = [
  { revisionId: 'rev_stable', port: 4001, healthy: true },
  { revisionId: 'rev_canary', port: 4002, healthy: true },
];

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
    const table = composeRouteTable([rollout], bothHealthy, 3);
    expect(table.routes.map((route) => [route.host, route.backends.map((b) => [b.revision, b.weight])])).toEqual([
      ['web.preview.production.shop.localhost', [['rev_canary', 100]]],
      ['web.production.shop.localhost', [['rev_stable', 90], ['rev_canary', 10]]],
    ]);
  });

  it('names the two sides of a split for overrides and marks a sticky rollout, never its preview host', () => {
    const table = composeRouteTable([{ ...rollout, canaryRevisionId: 'rev_canary', sticky: true }], bothHealthy, 3);
    const [preview, main] = table.routes;
    expect(main).toMatchObject({ sticky: true });
    expect(main!.backends.map((backend) => [backend.revision, backend.role])).toEqual([
      ['rev_stable', 'stable'],
      ['rev_canary', 'canary'],
    ]);
    expect(preview!.sticky).toBeUndefined();
    expect(preview!.backends[0]!.role).toBeUndefined();
    expect(() => validateRouteTable(table)).not.toThrow();
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
        fc.option(revision),
        fc.boolean(),
        (weights, replicas, canary, sticky) => {
          const split = canary === null ? {} : { canaryRevisionId: canary, previewRevisionId: canary };
          const table = composeRouteTable([{ project: 'p', service: 's', environment: 'e', weights, ...split, sticky }], replicas, 1);
          const route = table.routes.find((candidate) => candidate.host === 's.e.p.localhost')!;
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
