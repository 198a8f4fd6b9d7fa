import { crossCheck } from './cross-checks.js';
import { validate, type RawProblem } from './issues.js';
import { pathToString, sortProblems, type ManifestResult, type Problem } from './problems.js';
import { manifestSchema } from './schema.js';
import { manifestWarnings } from './warnings.js';
import { policyProblems } from './policy-checks.js';
import { readYaml, type LocatedMessage } from './yaml-source.js';

/**
 * Parses maestro.yml text. Never throws: every problem (YAML syntax, schema, cross-field) comes back at
 * once, each with the line and column to edit.
 */
export function parseManifest(text: string, file: string): ManifestResult {
  const source = readYaml(text);
  const located = (raw: RawProblem): Problem => ({
    file,
    ...source.locate(raw.path, raw.target, raw.within),
    path: pathToString(raw.path),
    message: raw.message,
  });
  const fromYaml = (message: LocatedMessage): Problem => ({
    file,
    line: message.line,
    column: message.column,
    path: pathToString(message.path),
    message: message.message,
  });

  // After a syntax error the YAML parser guesses at the structure (a tab-indented line becomes a
  // top-level key...), and schema messages about a guessed structure send people to the wrong place.
  // So every syntax error is reported, and the schema is checked once the YAML reads cleanly.
  if (source.errors.length > 0) return { ok: false, problems: sortProblems(source.errors.map(fromYaml)) };
  if (source.data === undefined) {
    const message = 'the file is empty; a manifest needs at least project and services';
    return { ok: false, problems: [{ file, line: 1, column: 1, path: '', message }] };
  }

  const validation = validate(manifestSchema, source.data);
  const problems = [...(validation.ok ? [] : validation.problems), ...crossCheck(source.data), ...policyProblems(source.data)].map(located);
  if (!validation.ok || problems.length > 0) return { ok: false, problems: sortProblems(problems) };

  const warnings = [...source.warnings.map(fromYaml), ...manifestWarnings(validation.value).map(located)];
  return { ok: true, manifest: validation.value, warnings: sortProblems(warnings) };
}
