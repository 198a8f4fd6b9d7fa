/** `Authorization: Basic base64(user:password)`, as git sends credentials from the URL or a credential helper. */
export interface BasicCredentials {
  user: string;
  password: string;
}

/** The credentials, or undefined when the header is missing or not Basic. The password may hold colons; the user cannot. */
export function basicCredentials(header: string | undefined): BasicCredentials | undefined {
  if (!header) return undefined;
  const match = /^Basic\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(header);
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
