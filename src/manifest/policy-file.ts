/** An organisation policy file: YAML in, the file's policies or every problem with its line and column out. */
import { validate, type RawProblem } from './issues.js';
import { pathToString, sortProblems, type Problem } from './problems.js';
import { policyProblems } from './policy-checks.js';
import { policyFileSchema, type PolicyFile } from './policy-schema.js';
import { readYaml, type LocatedMessage } from './yaml-source.js';

export type PolicyFileResult = { ok: true; policyFile: PolicyFile; warnings: Problem[] } | { ok: false; problems: Problem[] };

/** Parses a policy file's text. Never throws. An empty file is a valid file with no policies. */
export function parsePolicyFile(text: string, file: string): PolicyFileResult {
  const source = readYaml(text);
  const fromYaml = (message: LocatedMessage): Problem => ({ file, line: message.line, column: message.column, path: pathToString(message.path), message: message.message });
  const located = (raw: RawProblem): Problem => ({ file, ...source.locate(raw.path, raw.target, raw.within), path: pathToString(raw.path), message: raw.message });

  if (source.errors.length > 0) return { ok: false, problems: sortProblems(source.errors.map(fromYaml)) };
  const validation = validate(policyFileSchema, source.data ?? {});
  const problems = [...(validation.ok ? [] : validation.problems), ...policyProblems(source.data)].map(located);
  if (!validation.ok || problems.length > 0) return { ok: false, problems: sortProblems(problems) };
  return { ok: true, policyFile: validation.value, warnings: sortProblems(source.warnings.map(fromYaml)) };
}
