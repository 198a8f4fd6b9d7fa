/**
 * Checks of a `policies:` list the schema cannot make: each expression compiles as CEL (a problem points
 * at the spot inside the expression), and names are unique. Reads the raw data defensively, like
 * cross-checks.ts, so these come out with every other problem at once.
 */
import { compileExpression } from '../policy/cel.js';
import type { RawProblem } from './issues.js';
import { pathToString, type PathSegment } from './problems.js';

export function policyProblems(data: unknown, at: PathSegment[] = ['policies']): RawProblem[] {
  const list = at.reduce<unknown>((value, segment) => (isMapping(value) ? value[String(segment)] : undefined), data);
  if (!Array.isArray(list)) return [];
  const problems: RawProblem[] = [];
  const firstIndexOf = new Map<string, number>();
  list.forEach((item: unknown, index) => {
    if (!isMapping(item)) return;
    const name = item['name'];
    if (typeof name === 'string') {
      const first = firstIndexOf.get(name);
      if (first === undefined) firstIndexOf.set(name, index);
      else {
        const path = [...at, index, 'name'];
        problems.push({ path, message: `${pathToString(path)}: ${pathToString([...at, first])} is named "${name}" too; give each policy its own name` });
      }
    }
    const expression = item['expression'];
    // An empty one is the schema's to report.
    if (typeof expression !== 'string' || expression.trim() === '') return;
    const compiled = compileExpression(expression);
    if (!compiled.ok) {
      const path = [...at, index, 'expression'];
      problems.push({ path, message: `${pathToString(path)}: ${compiled.error.message}`, within: compiled.error.offset });
    }
  });
  return problems;
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
