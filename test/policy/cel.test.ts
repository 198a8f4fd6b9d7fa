import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileExpression, runExpression, type Compiled } from '../../src/policy/index.js';
import { input } from './facts.js';

function compileError(expression: string): { message: string; at: string } {
  const compiled = compileExpression(expression);
  if (compiled.ok) throw new Error(`${expression} compiled`);
  return { message: compiled.error.message, at: expression.slice(compiled.error.offset) };
}

function run(expression: string, document = input()) {
  const compiled: Compiled = compileExpression(expression);
  if (!compiled.ok) throw new Error(compiled.error.message);
  return runExpression(compiled.program, document);
}

describe('compiling policy expressions', () => {
  it('finds a misspelt field of the input at compile time, with a guess, pointing at the field', () => {
    expect(compileError('input.build.coverge.line >= 80')).toEqual({
      message: 'input.build has no field `coverge`; did you mean `coverage`?',
      at: 'coverge.line >= 80',
    });
    expect(compileError('has(input.sbom.precent)').message).toBe('input.sbom has no field `precent`; did you mean `present`?');
    expect(compileError('input.sbom["complet"]').message).toContain('did you mean `complete`?');
  });

  it('knows the shape of list elements inside comprehensions and by index', () => {
    expect(compileError('input.sbom.components.exists(c, c.nmae == "lodash")')).toMatchObject({ message: 'c has no field `nmae`; did you mean `name`?', at: 'nmae == "lodash")' });
    expect(compileError('input.sbom.components[0].purll != ""').message).toContain('did you mean `purl`?');
    expect(compileError('input.sbom.components.name == "x"').message).toMatch(/is a list, which has no field `name`: look inside it with input\.sbom\.components\.exists/);
    expect(compileError('input.project.name == "x"').message).toBe('input.project is text, which has no field `name`');
  });

  it('refuses unknown functions and names, and expressions that cannot be true or false', () => {
    expect(compileError('sise(input.sbom.components) > 0').message).toBe('unknown function `sise`; did you mean `size`?');
    expect(compileError('build.testsPassed').message).toMatch(/^unknown name `build`: policies read their facts from `input`/);
    expect(compileError('input.project').message).toBe('must be true or false, but input.project is text: compare it, like input.vulnerabilities.counts.critical == 0');
    expect(compileError('42').message).toMatch(/must be true or false, but it is a constant/);
    expect(compileError('   ').message).toMatch(/is empty/);
  });

  it('says where CEL syntax breaks', () => {
    expect(compileError('input.sbom.present &&')).toMatchObject({ message: expect.stringMatching(/ends after `&&`/), at: '&&' });
    expect(compileError('(input.sbom.present').message).toMatch(/ends too soon/);
    expect(compileError('input.sbom.present && input.artifact.signed)').at).toBe(')');
  });

  it('accepts the language: comprehensions, macros, string functions, timestamps, lists and maps', () => {
    for (const ok of [
      'input.sbom.licenses.all(l, l in ["MIT", "Apache-2.0", "ISC"])',
      'input.sbom.components.exists(c, c.licenses.exists(l, l.startsWith("GPL"))) == false',
      'input.sbom.components.filter(c, c.ecosystem == "npm").size() >= 1',
      'input.project.lowerAscii() == "shop"',
      'timestamp(input.time.now).getDayOfWeek() == input.time.weekday',
      'type(input.build.durationMs) == int',
      '{"a": 1}["a"] == 1 && [1, 2].map(x, x * 2)[1] == 4',
      'input.vulnerabilities.ids.all(id, !(id in ["GHSA-xxxx"]))',
    ]) {
      expect(compileExpression(ok), ok).toMatchObject({ ok: true });
    }
  });

  it('never throws, whatever the text: it compiles or says where it does not (property)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.stringMatching(/^[a-z .()[\]"'&|=!<>+*,0-9_-]{0,40}$/)), (text) => {
        const compiled = compileExpression(text);
        if (!compiled.ok) {
          expect(compiled.error.offset).toBeGreaterThanOrEqual(0);
          expect(compiled.error.offset).toBeLessThanOrEqual(text.length);
          expect(compiled.error.message.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('running compiled expressions', () => {
  it('reads the input, with whole numbers as CEL ints and coverage as a double', () => {
    expect(run('input.build.testsPassed && input.artifact.signed && input.sbom.present')).toEqual({ ok: true, value: true });
    expect(run('input.build.coverage.line >= 80')).toEqual({ ok: true, value: true });
    expect(run('input.build.coverage.line * 2.0 > 160.0')).toEqual({ ok: true, value: true });
    expect(run('size(input.vulnerabilities.ids) == input.vulnerabilities.counts.high + input.vulnerabilities.counts.critical')).toEqual({ ok: true, value: true });
    expect(run('input.build.durationMs / 1000 == 41')).toEqual({ ok: true, value: true });
  });

  it('gives an error, never a value, when the expression fails or is not a boolean', () => {
    const withoutCoverage = input({ build: { testsPassed: true, durationMs: 1 } });
    const absent = run('input.build.coverage.line >= 80', withoutCoverage);
    expect(absent.ok).toBe(false);
    expect(!absent.ok && absent.error).toMatch(/coverage.*has\(input\.build\.coverage\)/);
    expect(run('has(input.build.coverage) && input.build.coverage.line >= 80', withoutCoverage)).toEqual({ ok: true, value: false });
    expect(run('input.build.durationMs / 0 == 1')).toMatchObject({ ok: false, error: expect.stringMatching(/divide by zero/) });
    expect(run('input.project + 1 == 2')).toMatchObject({ ok: false, error: expect.stringMatching(/no matching overload/) });
    expect(run('input.sbom.components[5].name == "x"')).toMatchObject({ ok: false });
    expect(run('input.sbom.components.exists(c, c.name == "express") ? input.sbom.licenses : false')).toEqual({ ok: false, error: 'the expression gave a list, not true or false' });
  });
});
