/**
 * The two cookies the router reads: `maestro-revision` (a tester's override, like the header) and
 * `maestro-sticky` (the revision a sticky rollout assigned to this client). Pure: no I/O.
 */

/** What the names of the router's cookies start with. */
export const COOKIE_PREFIX = 'maestro-';
export const REVISION_COOKIE = `${COOKIE_PREFIX}revision`;
export const STICKY_COOKIE = `${COOKIE_PREFIX}sticky`;
/** How long a sticky assignment lasts without a request refreshing it: a day. */
export const STICKY_MAX_AGE_SECONDS = 24 * 60 * 60;

/**
 * The cookies of a `Cookie` header as name -> value. Lenient like browsers (RFC 6265 §5.2 for pairs):
 * pairs without `=` or with an empty name are skipped, whitespace around names and values is dropped,
 * a value in double quotes loses them, and the first pair of a name wins (the most specific path comes
 * first). Values are not percent-decoded. Never throws, whatever the input.
 */
export function parseCookies(header: string | string[] | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  if (header === undefined) return cookies;
  const text = Array.isArray(header) ? header.join('; ') : header;
  for (const pair of text.split(';')) {
    const equals = pair.indexOf('=');
    if (equals === -1) continue;
    const name = pair.slice(0, equals).trim();
    if (name === '' || cookies.has(name)) continue;
    let value = pair.slice(equals + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    cookies.set(name, value);
  }
  return cookies;
}

// RFC 6265 cookie-octet: what a value may hold without quoting. Revision ids always fit.
const COOKIE_VALUE = /^[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*$/;

/**
 * `Set-Cookie` for a sticky assignment: the whole host, not readable by scripts, sent on top-level
 * navigation. Undefined for an id that cannot be a cookie value (the client then stays unassigned).
 */
export function stickyCookie(revision: string, maxAgeSeconds = STICKY_MAX_AGE_SECONDS): string | undefined {
  if (revision === '' || !COOKIE_VALUE.test(revision)) return undefined;
  return `${STICKY_COOKIE}=${revision}; Path=/; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=Lax`;
}

/** `Set-Cookie` that removes a sticky assignment the route no longer uses. */
export function clearedStickyCookie(): string {
  return `${STICKY_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax`;
}
