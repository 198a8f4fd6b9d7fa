import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Document, Scalar } from 'yaml';
import { formatProblem, parseManifest, parsePolicyFile } from '../../src/manifest/index.js';

const manifest = (policies: string) => `project: shop\nservices:\n  web: { start: node server.js }\npolicies:\n${policies}`;

function problems(text: string): string[] {
  const result = parseManifest(text, 'maestro.yml');
  if (result.ok) throw new Error('expected problems');
  return result.problems.map(formatProblem);
}

/** The text at a problem's line and column. */
function at(text: string, problem: { line: number; column: number }): string {
  return text.split('\n')[problem.line - 1]!.slice(problem.column - 1);
}

describe("maestro.yml's policies", () => {
  it('are read with their defaults: deny, every environment', () => {
    const result = parseManifest(manifest('  - name: signed\n    expression: input.artifact.signed\n    message: sign it\n  - {name: prs, action: warn, environments: [pr-*], expression: input.sbom.present, message: m}\n'), 'maestro.yml');
    expect(result.ok && result.manifest.policies).toEqual([
      { name: 'signed', action: 'deny', expression: 'input.artifact.signed', message: 'sign it' },
      { name: 'prs', action: 'warn', environments: ['pr-*'], expression: 'input.sbom.present', message: 'm' },
    ]);
  });

  it('are optional: a manifest without them has none', () => {
    const result = parseManifest('project: shop\nservices:\n  web: { start: x }\n', 'maestro.yml');
    expect(result.ok && result.manifest.policies).toBeUndefined();
  });

  it('report a CEL problem at the line and column inside the expression, whatever the YAML style', () => {
    const text = manifest(
      [
        '  - name: plain',
        '    expression: input.sbom.present && input.build.coverge.line >= 80',
        '    message: m',
        '  - name: double',
        '    expression: "input.project == \\"a\\\\\\"b\\" && input.artifact.sined"',
        '    message: m',
        "  - name: single",
        "    expression: 'input.project == ''x'' && input.vulnerabilities.count.high == 0'",
        '    message: m',
        '  - name: literal',
        '    expression: |',
        '      input.sbom.present &&',
        '        sise(input.sbom.components) > 0',
        '    message: m',
        '  - name: folded',
        '    expression: >-',
        '      input.sbom.present',
        '      && input.time.weekdya == 5',
        '    message: m',
        '',
      ].join('\n'),
    );
    const result = parseManifest(text, 'maestro.yml');
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems.map((p) => [p.path, at(text, p).slice(0, 8)])).toEqual([
      ['policies[0].expression', 'coverge.'],
      ['policies[1].expression', 'sined"'],
      ['policies[2].expression', 'count.hi'],
      ['policies[3].expression', 'sise(inp'],
      ['policies[4].expression', 'weekdya '],
    ]);
    expect(formatProblem(result.problems[0]!)).toBe('maestro.yml:6:51: policies[0].expression: input.build has no field `coverge`; did you mean `coverage`?');
  });

  it('report names used twice, unknown actions and empty or bad environment lists, all at once', () => {
    expect(
      problems(
        manifest(
          '  - {name: a, expression: input.sbom.present, message: m}\n  - {name: a, action: block, expression: input.sbom.present, message: m}\n  - {name: Bad_Name, environments: [], expression: "", message: m}\n  - {name: c, environments: [Prod], expression: "input.sbom.present &&", message: m}\n',
        ),
      ),
    ).toEqual([
      'maestro.yml:6:12: policies[1].name: policies[0] is named "a" too; give each policy its own name',
      'maestro.yml:6:23: policies[1].action: must be one of deny, warn, got "block"',
      'maestro.yml:7:12: policies[2].name: "Bad_Name" is not a valid policy name; use 1 to 63 lowercase letters, digits and -, like no-critical-vulnerabilities',
      'maestro.yml:7:36: policies[2].environments: lists no environment; leave environments out for every environment',
      'maestro.yml:7:52: policies[2].expression: must be a CEL expression over input that must be true, like input.artifact.signed, got ""',
      'maestro.yml:8:30: policies[3].environments[0]: must be an environment name or a pattern of them, like production or pr-*, got "Prod"',
      'maestro.yml:8:69: policies[3].expression: CEL syntax: the expression ends after `&&`, which needs something to its right',
    ]);
  });

  it('point inside any expression in any YAML scalar style at the field that is wrong (property)', () => {
    const clause = fc.constantFrom('input.sbom.present', 'input.artifact.signed', 'input.project == "a\\"b"', "input.service != 'it\\'s'", 'input.build.durationMs < 1000', 'size(input.sbom.components) > 0');
    const joiner = fc.constantFrom(' && ', '  &&  ', ' &&\n', '\n&& ', ' ||\n   ');
    const style = fc.constantFrom(Scalar.PLAIN, Scalar.QUOTE_DOUBLE, Scalar.QUOTE_SINGLE, Scalar.BLOCK_LITERAL, Scalar.BLOCK_FOLDED);
    fc.assert(
      fc.property(fc.array(fc.tuple(clause, joiner), { maxLength: 5 }), style, fc.constantFrom('zzz', 'qqqq'), (parts, type, bad) => {
        const expression = `${parts.map(([c, j]) => c + j).join('')}input.build.${bad} == 1`;
        const doc = new Document({ project: 'shop', services: { web: { start: 'x' } }, policies: [{ name: 'p', expression, message: 'm' }] });
        const node = doc.getIn(['policies', 0, 'expression'], true) as Scalar;
        node.type = type;
        const text = doc.toString({ lineWidth: 0 });
        const result = parseManifest(text, 'maestro.yml');
        if (result.ok) throw new Error(`parsed:\n${text}`);
        const [problem] = result.problems;
        expect(result.problems).toHaveLength(1);
        expect(at(text, problem!).startsWith(bad), `${formatProblem(problem!)} in\n${text}`).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});

describe('organisation policy files', () => {
  it('read policies, and whether the defaults stay', () => {
    const result = parsePolicyFile('defaults: false\npolicies:\n  - {name: a, expression: input.sbom.present, message: m}\n', 'org.yml');
    expect(result).toEqual({ ok: true, policyFile: { defaults: false, policies: [{ name: 'a', action: 'deny', expression: 'input.sbom.present', message: 'm' }] }, warnings: [] });
    expect(parsePolicyFile('# nothing yet\n', 'org.yml')).toMatchObject({ ok: true, policyFile: { policies: [] } });
  });

  it('report every problem with its file, line and column', () => {
    const result = parsePolicyFile('polices: []\npolicies:\n  - name: a\n    expression: input.sbom.presnt\n', 'org.yml');
    expect(result.ok ? [] : result.problems.map(formatProblem)).toEqual([
      'org.yml:1:1: polices: unknown field; did you mean `policies`?',
      'org.yml:3:5: policies[0].message: is required: what to tell people when the expression is false',
      'org.yml:4:28: policies[0].expression: input.sbom has no field `presnt`; did you mean `present`?',
    ]);
    expect(parsePolicyFile('policies: [', 'org.yml')).toMatchObject({ ok: false, problems: [{ file: 'org.yml', message: expect.stringMatching(/^YAML syntax/) }] });
  });
});
