import type { Manifest } from './schema.js';

/** One thing wrong (or worth a warning) in a manifest, pointing at the spot a person has to edit. */
export interface Problem {
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
  /** Where in the manifest, e.g. `services.web.health.interval`; '' for the file as a whole. */
  path: string;
  message: string;
}

export type ManifestResult =
  | { ok: true; manifest: Manifest; warnings: Problem[] }
  | { ok: false; problems: Problem[] };

export type PathSegment = string | number;

/** `file:line:col: message`, the shape editors and terminals turn into a link. */
export function formatProblem(problem: Problem): string {
  return `${problem.file}:${problem.line}:${problem.column}: ${problem.message}`;
}

const PLAIN_KEY = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;

/** `services.web.env["my.var"]`, `strategy.steps[2].weight`: dots for plain keys, brackets otherwise. */
export function pathToString(path: readonly PathSegment[]): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else if (PLAIN_KEY.test(segment)) text += text === '' ? segment : `.${segment}`;
    else text += `[${JSON.stringify(segment)}]`;
  }
  return text;
}

/** File order, so a person can fix them top to bottom; exact duplicates dropped. */
export function sortProblems(problems: readonly Problem[]): Problem[] {
  const seen = new Set<string>();
  const unique = problems.filter((problem) => {
    const key = `${problem.line}:${problem.column}:${problem.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  return unique.sort((a, b) => a.line - b.line || a.column - b.column);
}
