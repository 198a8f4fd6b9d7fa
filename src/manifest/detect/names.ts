/** Turns any name into a DNS label (RFC 1123): lowercase letters, digits and dashes, at most 63. */
export function dnsLabel(name: string, fallback = 'app'): string {
  const label = name
    .toLowerCase()
    .replace(/^@[^/]*\//, '') // npm scope: `@acme/web` is `web`
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63)
    .replace(/-+$/, '');
  return label === '' ? fallback : label;
}

/** Makes `wanted` unique among `taken` by suffixing -2, -3, ... and records it as taken. */
export function uniqueName(wanted: string, taken: Set<string>): string {
  let name = wanted;
  for (let n = 2; taken.has(name); n += 1) {
    const suffix = `-${n}`;
    name = `${wanted.slice(0, 63 - suffix.length)}${suffix}`;
  }
  taken.add(name);
  return name;
}
