import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MaestroError } from '../../src/common/index.js';
import { compareTables, validateRouteTable, type RouteTable } from '../../src/router/index.js';

const valid: RouteTable = {
  version: 3,
  routes: [
    {
      host: 'web.production.shop.localhost',
      project: 'shop',
      service: 'web',
      environment: 'production',
      backends: [
        { revision: 'r1', weight: 70, upstreams: ['127.0.0.1:41234'] },
        { revision: 'r2', weight: 30, upstreams: ['127.0.0.1:41235', '[::1]:41236'] },
      ],
    },
    { host: 'api.staging.shop.localhost', project: 'shop', service: 'api', environment: 'staging', backends: [], unavailableReason: 'health checks failing' },
  ],
};

function problemsOf(input: unknown): string {
  try {
    validateRouteTable(input);
  } catch (error) {
    expect(error).toBeInstanceOf(MaestroError);
    expect((error as MaestroError).code).toBe('validation_error');
    return (error as MaestroError).message;
  }
  throw new Error('expected the table to be rejected');
}

describe('validateRouteTable', () => {
  it('accepts a well-formed table and returns it unchanged', () => {
    expect(validateRouteTable(valid)).toEqual(valid);
  });

  it('says what to fix for the common mistakes', () => {
    const withRoute = (patch: object): unknown => ({ version: 1, routes: [{ ...valid.routes[0], ...patch }] });
    expect(problemsOf(withRoute({ host: 'Web.Shop.localhost:8080' }))).toMatch(/lowercase hostname without a port/);
    expect(problemsOf(withRoute({ backends: [{ revision: 'r1', weight: 60, upstreams: ['127.0.0.1:1'] }] }))).toMatch(/sum to 60; they must sum to 100/);
    expect(problemsOf(withRoute({ backends: [{ revision: 'r1', weight: 100, upstreams: ['localhost'] }] }))).toMatch(/"host:port"/);
    expect(problemsOf(withRoute({ backends: [{ revision: 'r1', weight: 100, upstreams: ['127.0.0.1:70000'] }] }))).toMatch(/port from 1 to 65535/);
    expect(problemsOf(withRoute({ backends: [{ revision: 'r1', weight: 100, upstreams: [] }] }))).toMatch(/no upstreams/);
    expect(
      problemsOf(
        withRoute({
          backends: [
            { revision: 'r1', weight: 50, upstreams: ['127.0.0.1:1'] },
            { revision: 'r1', weight: 50, upstreams: ['127.0.0.1:2'] },
          ],
        }),
      ),
    ).toMatch(/appears twice/);
    expect(problemsOf({ version: 1, routes: [valid.routes[0], valid.routes[0]] })).toMatch(/has two routes/);
    expect(problemsOf({ version: -1, routes: [] })).toMatch(/version/);
    expect(problemsOf('nonsense')).toMatch(/Invalid route table/);
  });

  it('carries a sticky route and the canary and stable sides of a split, one backend per side', () => {
    const split = {
      ...valid.routes[0]!,
      sticky: true,
      backends: [
        { revision: 'r1', weight: 90, upstreams: ['127.0.0.1:1'], role: 'stable' as const },
        { revision: 'r2', weight: 10, upstreams: ['127.0.0.1:2'], role: 'canary' as const },
      ],
    };
    expect(validateRouteTable({ version: 1, routes: [split] }).routes[0]).toEqual(split);
    const twice = { ...split, backends: split.backends.map((backend) => ({ ...backend, role: 'canary' })) };
    expect(problemsOf({ version: 1, routes: [twice] })).toMatch(/two canary backends/);
    expect(problemsOf({ version: 1, routes: [{ ...split, backends: [{ ...split.backends[0], role: 'blue' }, split.backends[1]] }] })).toMatch(
      /role is "stable" or "canary"/,
    );
    expect(problemsOf({ version: 1, routes: [{ ...split, sticky: 'yes' }] })).toMatch(/sticky/);
  });

  it('rejects every table whose weights do not sum to 100, and accepts every one that does', () => {
    const weights = fc.array(fc.integer({ min: 0, max: 100 }), { minLength: 1, maxLength: 6 });
    fc.assert(
      fc.property(weights, (list) => {
        const table = {
          version: 1,
          routes: [
            {
              host: 'web.production.shop.localhost',
              project: 'shop',
              service: 'web',
              environment: 'production',
              backends: list.map((weight, index) => ({ revision: `r${index}`, weight, upstreams: [`127.0.0.1:${1000 + index}`] })),
            },
          ],
        };
        const sum = list.reduce((total, weight) => total + weight, 0);
        if (sum === 100) expect(validateRouteTable(table)).toEqual(table);
        else expect(() => validateRouteTable(table)).toThrow(/must sum to 100/);
      }),
    );
  });
});

describe('compareTables', () => {
  it('takes newer versions, shrugs at an identical repeat, refuses older or divergent ones', () => {
    const next = { ...valid, version: 4 };
    expect(compareTables(valid, next)).toBe('newer');
    expect(compareTables(valid, structuredClone(valid))).toBe('same');
    expect(compareTables(next, valid)).toBe('conflict');
    expect(compareTables(valid, { version: 3, routes: [] })).toBe('conflict');
  });
});
