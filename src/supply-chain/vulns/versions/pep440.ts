/**
 * PEP 440 versions (Python packages): parsing to a normal form and ordering, as `packaging.version`
 * does. Written here (about a hundred lines) rather than taken from npm: the maintained port's current
 * major needs Node 22, and ordering is all scanning needs. The tests check it against pip's own `packaging`.
 */

export interface Pep440Version {
  epoch: string;
  /** Release numbers as digit strings without leading zeros ("1", "0", "20240101"). */
  release: string[];
  pre?: { label: 'a' | 'b' | 'rc'; number: string };
  post?: string;
  dev?: string;
  /** Local segments, lowercased: numbers as digit strings without leading zeros, else letters. */
  local?: string[];
}

// The regular expression of PEP 440's appendix, case-insensitive, with surrounding spaces allowed.
const PATTERN = new RegExp(
  '^\\s*v?' +
    '(?:(?<epoch>[0-9]+)!)?' +
    '(?<release>[0-9]+(?:\\.[0-9]+)*)' +
    '(?<pre>[-_.]?(?<preL>alpha|beta|preview|pre|a|b|c|rc)[-_.]?(?<preN>[0-9]+)?)?' +
    '(?<post>(?:-(?<postN1>[0-9]+))|(?:[-_.]?(?<postL>post|rev|r)[-_.]?(?<postN2>[0-9]+)?))?' +
    '(?<dev>[-_.]?(?<devL>dev)[-_.]?(?<devN>[0-9]+)?)?' +
    '(?:\\+(?<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?' +
    '\\s*$',
  'i',
);

const PRE_LABELS: Record<string, 'a' | 'b' | 'rc'> = { a: 'a', alpha: 'a', b: 'b', beta: 'b', c: 'rc', rc: 'rc', pre: 'rc', preview: 'rc' };

const digits = (text: string): string => text.replace(/^0+(?=\d)/, '');

/** The version, or undefined when `text` is not a PEP 440 version. */
export function parsePep440(text: string): Pep440Version | undefined {
  const match = PATTERN.exec(text);
  const groups = match?.groups;
  if (!groups) return undefined;
  const version: Pep440Version = { epoch: digits(groups.epoch ?? '0'), release: groups.release!.split('.').map(digits) };
  if (groups.preL) version.pre = { label: PRE_LABELS[groups.preL.toLowerCase()]!, number: digits(groups.preN ?? '0') };
  if (groups.post) version.post = digits(groups.postN1 ?? groups.postN2 ?? '0');
  if (groups.dev) version.dev = digits(groups.devN ?? '0');
  if (groups.local) version.local = groups.local.toLowerCase().split(/[-_.]/).map((part) => (/^\d+$/.test(part) ? digits(part) : part));
  return version;
}

/** The normal form: `1!2.0rc1.post2.dev3+ubuntu.1`. */
export function formatPep440(version: Pep440Version): string {
  let text = version.epoch === '0' ? '' : `${version.epoch}!`;
  text += version.release.join('.');
  if (version.pre) text += `${version.pre.label}${version.pre.number}`;
  if (version.post !== undefined) text += `.post${version.post}`;
  if (version.dev !== undefined) text += `.dev${version.dev}`;
  if (version.local) text += `+${version.local.join('.')}`;
  return text;
}

/** Compares digit strings without leading zeros as numbers, however long. */
function compareDigits(a: string, b: string): number {
  return a.length !== b.length ? Math.sign(a.length - b.length) : a < b ? -1 : a > b ? 1 : 0;
}

function compareRelease(a: string[], b: string[]): number {
  // Trailing zeros do not count: 1.0 == 1.0.0.
  const length = Math.max(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const order = compareDigits(a[i] ?? '0', b[i] ?? '0');
    if (order !== 0) return order;
  }
  return 0;
}

const PRE_RANK = { a: 0, b: 1, rc: 2 } as const;

/**
 * Where the pre-release part puts a version among its release's versions: a dev release of the release
 * itself (1.0.dev1) before every pre-release, pre-releases in order, then the release and its post releases.
 */
function preKey(version: Pep440Version): [number, string] {
  if (version.pre) return [PRE_RANK[version.pre.label], version.pre.number];
  if (version.post === undefined && version.dev !== undefined) return [-1, '0'];
  return [3, '0'];
}

function compareLocal(a: string[] | undefined, b: string[] | undefined): number {
  if (!a || !b) return a ? 1 : b ? -1 : 0;
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i]!;
    const y = b[i]!;
    const xNumber = /^\d+$/.test(x);
    const yNumber = /^\d+$/.test(y);
    // A number sorts after letters; letters compare as text.
    const order = xNumber && yNumber ? compareDigits(x, y) : xNumber ? 1 : yNumber ? -1 : x < y ? -1 : x > y ? 1 : 0;
    if (order !== 0) return order;
  }
  return Math.sign(a.length - b.length);
}

export function comparePep440(a: Pep440Version, b: Pep440Version): number {
  const epoch = compareDigits(a.epoch, b.epoch);
  if (epoch !== 0) return epoch;
  const release = compareRelease(a.release, b.release);
  if (release !== 0) return release;
  const [aRank, aNumber] = preKey(a);
  const [bRank, bNumber] = preKey(b);
  if (aRank !== bRank) return Math.sign(aRank - bRank);
  const pre = compareDigits(aNumber, bNumber);
  if (pre !== 0) return pre;
  // No post release sorts before any post release; no dev release after any dev release.
  if (a.post !== b.post) {
    if (a.post === undefined) return -1;
    if (b.post === undefined) return 1;
    const post = compareDigits(a.post, b.post);
    if (post !== 0) return post;
  }
  if (a.dev !== b.dev) {
    if (a.dev === undefined) return 1;
    if (b.dev === undefined) return -1;
    const dev = compareDigits(a.dev, b.dev);
    if (dev !== 0) return dev;
  }
  return compareLocal(a.local, b.local);
}
