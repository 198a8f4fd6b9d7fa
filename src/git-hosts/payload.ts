/** Reading a provider's JSON: only the fields Maestro uses, and a 400 naming the one that is missing or wrong. */
import { z } from 'zod';
import { MaestroError } from '../common/index.js';

/** The body as JSON; GitHub may also send it form-encoded as `payload=<json>` (its "application/x-www-form-urlencoded" setting). */
export function parseBody(body: Buffer, contentType: string | undefined): unknown {
  let text = body.toString('utf8');
  if (contentType?.toLowerCase().startsWith('application/x-www-form-urlencoded')) {
    const payload = new URLSearchParams(text).get('payload');
    if (payload === null) throw new MaestroError('bad_request', 'the form-encoded body has no payload field; set the webhook\'s content type to application/json');
    text = payload;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new MaestroError('bad_request', `the body is not JSON: ${(error as Error).message}`);
  }
}

/** Parses `value` with `schema`; the error names the first field at fault, e.g. `pull_request.head.sha`. */
export function parsePayload<S extends z.ZodType>(schema: S, value: unknown, what: string): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const field = issue.path.map(String).join('.') || '(the body)';
  const missing = issue.code === 'invalid_type' && /received undefined/.test(issue.message);
  throw new MaestroError(
    'validation_error',
    missing ? `the ${what} payload is missing ${field}` : `the ${what} payload's ${field} is not valid: ${issue.message}`,
    { field },
  );
}

// Full object names as git prints them: SHA-1 (40) or SHA-256 (64) hex digits.
const OBJECT_NAME = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

export const objectName = z.string().regex(OBJECT_NAME, 'expected a full commit sha (40 or 64 lowercase hex digits)');

/**
 * A branch or tag name git accepts (check-ref-format), checked here because it becomes part of a
 * refspec: no `:`, spaces, control characters, `..`, `@{`, leading `-` or `.`, trailing `/` or `.lock`.
 */
export function isSafeRefName(name: string): boolean {
  if (name === '' || name === '@' || name.startsWith('-') || name.endsWith('/') || name.endsWith('.') || name.endsWith('.lock')) return false;
  if (name.includes('..') || name.includes('@{') || name.includes('//')) return false;
  if ([...name].some((char) => char.charCodeAt(0) <= 0x20 || char.charCodeAt(0) === 0x7f) || /[~^:?*[\\]/.test(name)) return false;
  return name.split('/').every((part) => part !== '' && !part.startsWith('.') && !part.endsWith('.lock'));
}

export const refName = z.string().refine(isSafeRefName, 'not a name git accepts for a branch or tag');
