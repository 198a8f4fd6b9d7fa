import semver from 'semver';
import type { Ecosystem } from '../types.js';
import { parseGoVersion } from './go.js';
import { comparePep440, parsePep440 } from './pep440.js';

/** How one kind of version string is read and ordered. */
export interface VersionOrder<T = unknown> {
  /** What the versions are called in problems ("npm (semver)", "PyPI (PEP 440)"). */
  readonly label: string;
  parse(text: string): T | undefined;
  compare(a: T, b: T): number;
}

const npmOrder: VersionOrder<semver.SemVer> = {
  label: 'npm (semver)',
  // Loose, as npm reads package.json: "v1.2.3" and "=1.2.3" are 1.2.3.
  parse: (text) => semver.parse(text.trim(), { loose: true }) ?? undefined,
  compare: (a, b) => a.compare(b),
};

const strictSemver: VersionOrder<semver.SemVer> = {
  label: 'SemVer 2.0',
  parse: (text) => semver.parse(text.trim().replace(/^v/, '')) ?? undefined,
  compare: (a, b) => a.compare(b),
};

const goOrder: VersionOrder<semver.SemVer> = { label: 'Go module', parse: parseGoVersion, compare: (a, b) => a.compare(b) };

const pypiOrder: VersionOrder = { label: 'PyPI (PEP 440)', parse: parsePep440, compare: comparePep440 as VersionOrder['compare'] };

const ECOSYSTEM_ORDERS: Record<Ecosystem, VersionOrder> = {
  npm: npmOrder as VersionOrder,
  PyPI: pypiOrder,
  Go: goOrder as VersionOrder,
};

/**
 * The order an OSV range's versions follow: ECOSYSTEM ranges use the package's ecosystem; SEMVER ranges
 * are SemVer 2.0 (for Go, read the Go way so a `v` prefix or `+incompatible` on either side is fine).
 */
export function versionOrder(ecosystem: Ecosystem, rangeType: 'ECOSYSTEM' | 'SEMVER' = 'ECOSYSTEM'): VersionOrder {
  if (rangeType === 'SEMVER' && ecosystem === 'PyPI') return strictSemver as VersionOrder;
  return ECOSYSTEM_ORDERS[ecosystem];
}

export { parsePep440, comparePep440, formatPep440, type Pep440Version } from './pep440.js';
export { parseGoVersion } from './go.js';
