import { MaestroError } from '../common/index.js';

// Project, service and environment names become host names: <service>.<environment>.<project>.localhost
const DNS_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

export function checkName(kind: 'project' | 'service' | 'environment', name: unknown): string {
  if (typeof name !== 'string' || !DNS_LABEL.test(name)) {
    throw new MaestroError(
      'validation_error',
      `${kind} name ${JSON.stringify(name)} is not valid: use 1-63 lowercase letters, digits and dashes, starting and ending with a letter or digit (e.g. "web", "pr-12")`,
      { field: 'name', value: name },
    );
  }
  return name;
}

export function checkText(field: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new MaestroError('validation_error', `${field} must be a non-empty string`, { field });
  }
  return value;
}

export function checkLimit(limit: number | undefined, fallback: number, max = 1000): number {
  if (limit === undefined) return fallback;
  if (!Number.isInteger(limit) || limit < 1 || limit > max) {
    throw new MaestroError('validation_error', `limit must be a whole number from 1 to ${max}, got ${limit}`, { field: 'limit' });
  }
  return limit;
}

export function checkOneOf<T extends string>(field: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new MaestroError('validation_error', `${field} must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`, { field });
  }
  return value as T;
}

/** JSONB parameters travel as JSON text; `undefined` has no JSON form. */
export function toJson(field: string, value: unknown): string {
  let text: string | undefined;
  try {
    text = value === undefined ? undefined : JSON.stringify(value);
  } catch (error) {
    throw new MaestroError('validation_error', `${field} cannot be stored as JSON: ${(error as Error).message}`, { field });
  }
  if (text === undefined) {
    throw new MaestroError('validation_error', `${field} must be a JSON value (use null for "nothing")`, { field });
  }
  return text;
}

/** A whole number that cannot be negative: sizes, counts, pids, ports. */
export function checkCount(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new MaestroError('validation_error', `${field} must be a whole number of at least 0, got ${String(value)}`, { field });
  }
  return value;
}
