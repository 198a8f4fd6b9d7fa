/**
 * Package URLs (https://github.com/package-url/purl-spec) for the three ecosystems Maestro reads,
 * following each type's rules: npm names lowercased with the scope as namespace, PyPI names
 * normalised as PEP 503 says, Go module paths lowercased and split at their last slash.
 */

/** PEP 503: runs of `-`, `_` and `.` become one `-`, and the name is lowercased. */
export function pep503Name(name: string): string {
  return name.replace(/[-_.]+/g, '-').toLowerCase();
}

export function npmPurl(name: string, version: string, qualifiers: Record<string, string> = {}): string {
  const lower = name.toLowerCase();
  const slash = lower.startsWith('@') ? lower.indexOf('/') : -1;
  const path = slash > 0 ? `${encode(lower.slice(0, slash))}/${encode(lower.slice(slash + 1))}` : encode(lower);
  return `pkg:npm/${path}${versionPart(version)}${qualifierPart(qualifiers)}`;
}

export function pypiPurl(name: string, version: string, qualifiers: Record<string, string> = {}): string {
  return `pkg:pypi/${encode(pep503Name(name))}${versionPart(version)}${qualifierPart(qualifiers)}`;
}

export function golangPurl(modulePath: string, version: string, qualifiers: Record<string, string> = {}): string {
  const segments = modulePath.toLowerCase().split('/').filter((segment) => segment !== '');
  return `pkg:golang/${segments.map(encode).join('/')}${versionPart(version)}${qualifierPart(qualifiers)}`;
}

function versionPart(version: string): string {
  return version === '' ? '' : `@${encode(version)}`;
}

/** Qualifiers sorted by key, as the spec's canonical form has them. */
function qualifierPart(qualifiers: Record<string, string>): string {
  const pairs = Object.entries(qualifiers)
    .filter(([, value]) => value !== '')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return pairs.length === 0 ? '' : `?${pairs.map(([key, value]) => `${key.toLowerCase()}=${encode(value)}`).join('&')}`;
}

/** Percent-encodes all but the characters the spec leaves bare in a segment. */
function encode(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}
