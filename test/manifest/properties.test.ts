import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseDuration, parseSize } from '../../src/common/units.js';
import {
  formatProblem,
  manifestJsonSchema,
  manifestSchema,
  parseManifest,
  resolveEnvironment,
  resolveServiceConfig,
  type Manifest,
} from '../../src/manifest/index.js';
import { manifestInput } from './arbitraries.js';

function parsedOrThrow(text: string): { manifest: Manifest } {
  const result = parseManifest(text, 'maestro.yml');
  if (!result.ok) throw new Error(`${result.problems.map(formatProblem).join('\n')}\n---\n${text}`);
  return result;
}

describe('round trips', () => {
  it('any valid manifest written as YAML parses back to the same value, defaults filled in', () => {
    fc.assert(
      fc.property(manifestInput, (input) => {
        const { manifest } = parsedOrThrow(stringify(input));
        expect(manifest).toEqual(manifestSchema.parse(input));
        // What parsing produces is itself a valid manifest that parses to itself.
        expect(parsedOrThrow(stringify(manifest)).manifest).toEqual(manifest);
      }),
      { numRuns: 150 },
    );
  });

  it('durations come back as the milliseconds written', () => {
    const units = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100_000 }),
        fc.constantFrom(...(Object.keys(units) as (keyof typeof units)[])),
        fc.integer({ min: 0, max: 100_000 }),
        fc.constantFrom(...(Object.keys(units) as (keyof typeof units)[])),
        (interval, intervalUnit, drain, drainUnit) => {
          const { manifest } = parsedOrThrow(
            `project: p\nservices:\n  web:\n    start: x\n    health: { interval: ${interval}${intervalUnit} }\nenvironments:\n  production: { drain: ${drain}${drainUnit} }\n`,
          );
          expect(resolveServiceConfig(manifest, 'web', 'production').health.intervalMs).toBe(interval * units[intervalUnit]);
          expect(resolveEnvironment(manifest, 'production').drainMs).toBe(drain * units[drainUnit]);
        },
      ),
    );
  });

  it('the JSON Schema patterns for durations and sizes accept exactly what the parsers accept', () => {
    type Node = { properties: Record<string, Node>; additionalProperties: Node; pattern: string };
    const service = (manifestJsonSchema() as unknown as Node).properties['services']!.additionalProperties.properties;
    const durationPattern = new RegExp(service['health']!.properties['interval']!.pattern);
    const sizePattern = new RegExp(service['resources']!.properties['memory']!.pattern);
    const text = fc.string({ unit: fc.constantFrom(...'0123456789.msdhKMGTi%x'.split('')), maxLength: 8 });
    fc.assert(
      fc.property(text, (value) => {
        expect(durationPattern.test(value)).toBe(parseDuration(value) !== undefined);
        expect(sizePattern.test(value)).toBe(parseSize(value) !== undefined);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('robustness', () => {
  function expectWellFormed(text: string): void {
    const result = parseManifest(text, 'maestro.yml');
    const lines = text.split('\n');
    const located = result.ok ? result.warnings : result.problems;
    if (!result.ok) expect(result.problems.length).toBeGreaterThan(0);
    for (const problem of located) {
      expect(problem.file).toBe('maestro.yml');
      expect(problem.line).toBeGreaterThanOrEqual(1);
      expect(problem.line).toBeLessThanOrEqual(lines.length);
      expect(problem.column).toBeGreaterThanOrEqual(1);
      expect(problem.column).toBeLessThanOrEqual(lines[problem.line - 1]!.length + 1);
      expect(problem.message.length).toBeGreaterThan(0);
    }
  }

  it('random text never throws and every problem points inside the text', () => {
    fc.assert(fc.property(fc.string({ maxLength: 200 }), expectWellFormed), { numRuns: 500 });
    const yamlish = fc.string({ unit: fc.constantFrom(...'ab: -[]{}\n\t#&*!|>"\'0123456789,.%$<'.split('')), maxLength: 120 });
    fc.assert(fc.property(yamlish, expectWellFormed), { numRuns: 500 });
  });

  it('a real manifest with random edits never throws and points inside the text', () => {
    const original = readFileSync(new URL('./fixtures/shop.yml', import.meta.url), 'utf8');
    const edit = fc.tuple(fc.nat(original.length), fc.nat(6), fc.string({ maxLength: 4 }));
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 4 }), (edits) => {
        let text = original;
        for (const [at, remove, insert] of edits) {
          const position = at % (text.length + 1);
          text = text.slice(0, position) + insert + text.slice(position + remove);
        }
        expectWellFormed(text);
      }),
      { numRuns: 300 },
    );
  });

  it('resolves every service in every environment, declared or not, with the most specific setting winning', () => {
    fc.assert(
      fc.property(manifestInput, fc.constantFrom('production', 'pr-7'), (input, extraEnvironment) => {
        const { manifest } = parsedOrThrow(stringify(input));
        for (const environmentName of [...Object.keys(manifest.environments), extraEnvironment]) {
          const environment = manifest.environments[environmentName];
          for (const [name, service] of Object.entries(manifest.services)) {
            const config = resolveServiceConfig(manifest, name, environmentName);
            const override = environment?.services[name];
            expect(config.replicas).toBe(override?.replicas ?? service.replicas);
            expect(config.env).toEqual({ ...service.env, ...environment?.env, ...override?.env });
            expect(config.port).toBe((override?.port ?? service.port) === '$PORT' ? 'PORT' : (override?.port ?? service.port));
            expect(config.start === '').toBe(service.runtime === 'static');
          }
        }
      }),
      { numRuns: 100 },
    );
  });
});
