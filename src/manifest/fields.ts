/**
 * Leaf field schemas of maestro.yml. Each carries its own message, written for the person editing the
 * file: what the field accepts and what they wrote. The caller prefixes the field's path.
 */
import { posix } from 'node:path';
import { z } from 'zod';
import { parseDuration, parseSize } from '../common/units.js';
import { describeValue, didYouMean } from './suggest.js';

interface IssueInput {
  readonly code?: string;
  readonly input?: unknown;
}

/** Issues about the members of a container, which are told about where they happen, not by the container. */
const MEMBER_ISSUES = new Set(['unrecognized_keys', 'invalid_key', 'invalid_element']);

/** `is required: <what>` when missing, else `must be <what>, got <value>`. */
export function expecting(what: string): (issue: IssueInput) => string | undefined {
  return (issue) => {
    if (issue.code !== undefined && MEMBER_ISSUES.has(issue.code)) return undefined;
    return issue.input === undefined ? `is required: ${what}` : `must be ${what}, got ${describeValue(issue.input)}`;
  };
}

export function wholeNumber(min: number, max: number) {
  const error = expecting(`a whole number from ${min} to ${max}`);
  return z.int({ error }).min(min, { error }).max(max, { error });
}

export function text(what: string) {
  const error = expecting(what);
  return z.string({ error }).trim().min(1, { error });
}

export function flag() {
  return z.boolean({ error: expecting('true or false') });
}

/** One of a fixed set of words, with a guess when the value looks like a typo of one. */
export function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, {
    error: (issue: IssueInput) => {
      const list = values.join(', ');
      if (issue.input === undefined) return `is required: one of ${list}`;
      const guess = typeof issue.input === 'string' ? didYouMean(issue.input, values) : '';
      return `must be one of ${list}, got ${describeValue(issue.input)}${guess}`;
    },
  });
}

// Kept in step with parseDuration/parseSize in src/common/units.ts (a test proves they agree); only used to
// show editors the expected shape, the parsers decide.
const DURATION_PATTERN = '^\\d+(\\.\\d+)?(ms|s|m|h|d)$';
const SIZE_PATTERN = '^\\d+(\\.\\d+)?(Ki|Mi|Gi|Ti|K|M|G|T)?$';
const PERCENT = /^(\d+(?:\.\d+)?)%$/;

function durationMessage(issue: IssueInput): string {
  if (issue.input === undefined) return 'is required: a duration like 500ms, 2s, 5m';
  return `${describeValue(issue.input)} is not a duration; write it like 500ms, 2s, 5m`;
}

/** A duration as written (`2s`); resolve turns it into milliseconds. */
export function duration(options: { positive?: boolean } = {}) {
  return z
    .string({ error: durationMessage })
    .refine((value) => parseDuration(value) !== undefined, { error: durationMessage, abort: true })
    .refine((value) => !options.positive || (parseDuration(value) ?? 0) > 0, {
      error: (issue) => `must be longer than 0, got ${describeValue(issue.input)}`,
    })
    .meta({ pattern: DURATION_PATTERN });
}

function sizeMessage(issue: IssueInput): string {
  if (issue.input === undefined) return 'is required: a size like 256Mi, 1Gi, 512M';
  return `${describeValue(issue.input)} is not a size; write it like 256Mi, 1Gi, 512M`;
}

/** A memory size as written (`256Mi`); resolve turns it into bytes. */
export function size() {
  return z
    .string({ error: sizeMessage })
    .refine((value) => (parseSize(value) ?? 0) > 0, { error: sizeMessage })
    .meta({ pattern: SIZE_PATTERN });
}

/** `25%` -> 0.25; undefined when the text is not a percentage from 0 to 100. */
export function parsePercent(value: string): number | undefined {
  const match = PERCENT.exec(value.trim());
  if (!match) return undefined;
  const percent = Number(match[1]);
  return percent <= 100 ? percent / 100 : undefined;
}

export function percent() {
  const error = expecting('a percentage from 0% to 100%, like 25%');
  return z
    .string({ error })
    .refine((value) => parsePercent(value) !== undefined, { error })
    .meta({ pattern: PERCENT.source });
}

/** A count (`1`) or a share of the replicas (`25%`), as rolling updates take. */
export function countOrPercent() {
  const error = expecting('a whole number from 0 to 1000 or a percentage like 25%');
  return z.union([z.int({ error }).min(0, { error }).max(1000, { error }), percent()], { error });
}

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
export const MAX_NAME_LENGTH = 40;

/** Project, service and environment names end up in host names, so they are DNS labels. */
export function dnsName(kind: 'project' | 'service' | 'environment') {
  const rule = `use 1 to ${MAX_NAME_LENGTH} lowercase letters, digits and '-', starting and ending with a letter or digit`;
  const error = (issue: IssueInput) =>
    issue.input === undefined
      ? `is required: a ${kind} name (${rule})`
      : `${describeValue(issue.input)} is not a valid ${kind} name; ${rule}`;
  return z
    .string({ error })
    .max(MAX_NAME_LENGTH, { error })
    .regex(DNS_LABEL, { error });
}

/** True when the text is a valid project, service or environment name. */
export function isDnsName(value: string): boolean {
  return value.length <= MAX_NAME_LENGTH && DNS_LABEL.test(value);
}

/**
 * A folder inside the repository, relative to maestro.yml. Normalised (`./apps/web/` -> `apps/web`) so
 * two spellings of one folder compare equal.
 */
export function relativeFolder() {
  const shape = 'a folder inside the repository, relative to maestro.yml, like . or apps/web';
  return z
    .string({ error: expecting(shape) })
    .superRefine((value, ctx) => {
      const trimmed = value.trim();
      if (trimmed === '') ctx.addIssue({ code: 'custom', message: `must be ${shape}, got ""` });
      else if (/^([/\\]|[A-Za-z]:)/.test(trimmed))
        ctx.addIssue({ code: 'custom', message: `${describeValue(value)} is an absolute path; write ${shape}` });
      else if (normaliseFolder(trimmed).split('/')[0] === '..')
        ctx.addIssue({ code: 'custom', message: `${describeValue(value)} leaves the repository; write ${shape}` });
    })
    .transform(normaliseFolder);
}

/**
 * A glob of paths inside the repository, relative to maestro.yml (`apps/web`, `packages/ui/src/*.ts`),
 * or `!glob` to leave paths out. `./` and trailing slashes are dropped, so spellings of one path agree;
 * backslashes stay, since globs use them to escape.
 */
export function repositoryGlob() {
  const shape = 'a path pattern inside the repository, relative to maestro.yml, like apps/web, packages/*/src or !**/*.md';
  return z
    .string({ error: expecting(shape) })
    .superRefine((value, ctx) => {
      const pattern = value.trim().replace(/^!/, '').trim();
      if (pattern === '') ctx.addIssue({ code: 'custom', message: `must be ${shape}, got ${describeValue(value)}` });
      else if (/^(\/|[A-Za-z]:)/.test(pattern))
        ctx.addIssue({ code: 'custom', message: `${describeValue(value)} is an absolute path; write ${shape}` });
      else if (posix.normalize(pattern).split('/')[0] === '..')
        ctx.addIssue({ code: 'custom', message: `${describeValue(value)} leaves the repository; write ${shape}` });
    })
    .transform((value) => {
      const trimmed = value.trim();
      const negated = trimmed.startsWith('!');
      const normal = posix.normalize(trimmed.replace(/^!/, '').trim());
      return `${negated ? '!' : ''}${normal.length > 1 ? normal.replace(/\/+$/, '') : normal}`;
    });
}

function normaliseFolder(value: string): string {
  const normal = posix.normalize(value.trim().replaceAll('\\', '/'));
  return normal.length > 1 ? normal.replace(/\/+$/, '') : normal;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function envName() {
  const error = (issue: IssueInput) =>
    `${describeValue(issue.input)} is not a valid variable name; use letters, digits and _, not starting with a digit`;
  // `__proto__` is a valid shell name but would poison plain-object maps; nobody needs it.
  return z.string({ error }).regex(ENV_NAME, { error }).refine((name) => name !== '__proto__', { error });
}

/** Env values are text; YAML numbers and booleans are taken as the text the user wrote. */
export function envValue() {
  return z
    .union([z.string(), z.number(), z.boolean()], {
      error: (issue: IssueInput) =>
        issue.input === null
          ? 'is empty; write "" for an empty value'
          : `must be text, got ${describeValue(issue.input)}; quote it`,
    })
    .transform((value) => String(value));
}

export function envMap(description: string) {
  return z.record(envName(), envValue()).describe(description);
}
