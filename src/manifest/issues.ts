/**
 * Runs a zod schema and turns its issues into messages a person can act on: one per mistake, each at
 * the path it is about, unknown keys with a guess at the key that was meant.
 */
import type { z } from 'zod';
import { pathToString, type PathSegment } from './problems.js';
import { describeValue, didYouMean } from './suggest.js';

export interface RawProblem {
  path: PathSegment[];
  message: string;
  /** Point at the mapping key (unknown or misspelt keys) rather than at its value. */
  target?: 'value' | 'key';
  /** Point this many characters into a text value (a CEL expression's error), rather than at its start. */
  within?: number;
}

export type Validation<T> = { ok: true; value: T } | { ok: false; problems: RawProblem[] };

type Issue = z.core.$ZodIssue;

export function validate<T extends z.ZodType>(schema: T, data: unknown): Validation<z.output<T>> {
  // Objects that had unknown keys -> the keys their schema allows, for did-you-mean.
  const knownKeys = new WeakMap<object, string[]>();
  const result = schema.safeParse(data, {
    reportInput: true,
    error: (issue) => defaultMessage(issue, knownKeys),
  });
  if (result.success) return { ok: true, value: result.data };
  return { ok: false, problems: result.error.issues.flatMap((issue) => explain(issue, [], knownKeys)) };
}

const NOUNS: Record<string, string> = {
  object: 'a mapping',
  array: 'a list',
  string: 'text',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
};

/** Messages for issues no field schema worded itself; also records allowed keys of strict objects. */
function defaultMessage(issue: z.core.$ZodRawIssue, knownKeys: WeakMap<object, string[]>): string | undefined {
  if (issue.code === 'unrecognized_keys') {
    const shape = (issue.inst?._zod.def as { shape?: Record<string, unknown> } | undefined)?.shape;
    if (shape && typeof issue.input === 'object' && issue.input !== null) knownKeys.set(issue.input, Object.keys(shape));
    return undefined;
  }
  if (issue.code === 'invalid_type') {
    const noun = NOUNS[issue.expected] ?? issue.expected;
    return issue.input === undefined ? `is required: ${noun}` : `must be ${noun}, got ${describeValue(issue.input)}`;
  }
  return undefined;
}

function explain(issue: Issue, base: PathSegment[], knownKeys: WeakMap<object, string[]>): RawProblem[] {
  const path = [...base, ...issue.path.map((segment) => (typeof segment === 'number' ? segment : String(segment)))];
  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = (typeof issue.input === 'object' && issue.input !== null && knownKeys.get(issue.input)) || [];
      return issue.keys.map((key) => {
        const hint = didYouMean(key, known) || (known.length > 0 ? `; allowed here: ${known.join(', ')}` : '');
        return { path: [...path, key], message: prefix([...path, key], `unknown field${hint}`), target: 'key' as const };
      });
    }
    case 'invalid_key': {
      // A bad name used as a mapping key: the key's own schema worded it.
      const message = issue.issues[0]?.message ?? issue.message;
      return [{ path, message: prefix(path, message), target: 'key' }];
    }
    case 'invalid_union': {
      if ('note' in issue && issue.note !== undefined) return [{ path, message: prefix(path, issue.message) }];
      const branch = likeliestBranch(issue.errors);
      if (branch) return branch.flatMap((inner) => explain(inner, path, knownKeys));
      return [{ path, message: prefix(path, issue.message) }];
    }
    default:
      return [{ path, message: prefix(path, issue.message) }];
  }
}

/**
 * A union failed every branch; the branch the user meant is the one whose problems lie inside the
 * value (`{type: rolling, max_surge: x}` meant rolling). A branch that rejects the value's very shape,
 * or misses one of its own keys, was not meant. When no branch, or more than one equally, fits, the
 * union's own message says what is accepted.
 */
function likeliestBranch(branches: Issue[][]): Issue[] | undefined {
  const meant = branches
    .filter((issues) =>
      issues.every((issue) => {
        const rejectsShape = issue.path.length === 0 && (issue.code === 'invalid_type' || issue.code === 'invalid_value');
        const missesOwnKey = issue.path.length === 1 && issue.input === undefined;
        return !rejectsShape && !missesOwnKey;
      }),
    )
    .sort((a, b) => a.length - b.length);
  const [best, runnerUp] = meant;
  return best !== undefined && (runnerUp === undefined || runnerUp.length > best.length) ? best : undefined;
}

function prefix(path: PathSegment[], message: string): string {
  return path.length === 0 ? message : `${pathToString(path)}: ${message}`;
}
