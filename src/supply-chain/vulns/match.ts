import type { AffectedPackage, OsvEvent, OsvRange } from './osv-advisory.js';
import type { Ecosystem } from './types.js';
import { versionOrder, type VersionOrder } from './versions/index.js';

export interface RangeVerdict {
  affected: boolean;
  /** The `fixed` event that closes the affected stretch the version is in, if it is closed by a fix. */
  fixed?: string;
  /** An event version the range's order cannot read: the range could not be judged. */
  unreadable?: string;
}

/**
 * Whether `version` is in an OSV range, per the schema's evaluation: events sorted by version
 * ("introduced: 0" first), a version is affected from an `introduced` it has reached until a `fixed` or
 * `limit` it has reached, or a `last_affected` it has passed.
 */
export function inRange<T>(order: VersionOrder<T>, events: readonly OsvEvent[], version: T): RangeVerdict {
  const parsed: Array<{ event: OsvEvent; at: T | 'zero' }> = [];
  for (const event of events) {
    if (event.kind === 'introduced' && event.version === '0') {
      parsed.push({ event, at: 'zero' });
      continue;
    }
    const at = order.parse(event.version);
    if (at === undefined) return { affected: false, unreadable: event.version };
    parsed.push({ event, at });
  }
  const compare = (a: T | 'zero', b: T | 'zero'): number => (a === 'zero' ? (b === 'zero' ? 0 : -1) : b === 'zero' ? 1 : order.compare(a, b));
  // Array.prototype.sort is stable: events at the same version keep the advisory's order.
  parsed.sort((a, b) => compare(a.at, b.at));

  let affected = false;
  let opened = -1;
  parsed.forEach(({ event, at }, index) => {
    const reached = compare(version, at) >= 0;
    if (event.kind === 'introduced' && reached) {
      affected = true;
      opened = index;
    } else if ((event.kind === 'fixed' || event.kind === 'limit') && reached) {
      affected = false;
    } else if (event.kind === 'last_affected' && compare(version, at) > 0) {
      affected = false;
    }
  });
  if (!affected) return { affected };
  const closing = parsed.slice(opened + 1).find(({ event }) => event.kind !== 'introduced');
  return closing?.event.kind === 'fixed' ? { affected, fixed: closing.event.version } : { affected };
}

export interface PackageVerdict {
  affected: boolean;
  fixedVersions: string[];
  /** Why part of the advisory could not be judged for this version. */
  problems: string[];
}

/**
 * Whether one affected package entry of an advisory covers `version`: any of its ranges, or its list of
 * versions (compared in the ecosystem's order, so PyPI's 2.0 is 2.0.0). A version the ecosystem cannot read
 * can still be in the list; ranges need it read.
 */
export function affectsVersion(entry: AffectedPackage, version: string): PackageVerdict {
  const problems: string[] = [];
  const fixed = new Set<string>();
  let affected = false;
  for (const range of entry.ranges) {
    const order = versionOrder(entry.ecosystem, range.type);
    const parsed = order.parse(version);
    if (parsed === undefined) continue;
    const verdict = inRange(order, range.events, parsed);
    if (verdict.unreadable !== undefined) {
      problems.push(`${range.type} range event version ${JSON.stringify(verdict.unreadable)} is not a valid ${order.label} version; the range was not judged`);
      continue;
    }
    if (verdict.affected) {
      affected = true;
      if (verdict.fixed) fixed.add(verdict.fixed);
    }
  }
  if (!affected && listed(entry.ecosystem, entry.versions, version)) {
    affected = true;
    // A listed version still gets the next fix the ranges know of.
    const next = nextFix(entry.ecosystem, entry.ranges, version);
    if (next) fixed.add(next);
  }
  return { affected, fixedVersions: [...fixed], problems };
}

function listed(ecosystem: Ecosystem, versions: readonly string[], version: string): boolean {
  if (versions.includes(version)) return true;
  const order = versionOrder(ecosystem);
  const wanted = order.parse(version);
  return wanted !== undefined && versions.some((item) => {
    const parsed = order.parse(item);
    return parsed !== undefined && order.compare(parsed, wanted) === 0;
  });
}

function nextFix(ecosystem: Ecosystem, ranges: readonly OsvRange[], version: string): string | undefined {
  const order = versionOrder(ecosystem);
  const current = order.parse(version);
  if (current === undefined) return undefined;
  let best: { text: string; at: unknown } | undefined;
  for (const event of ranges.flatMap((range) => range.events)) {
    if (event.kind !== 'fixed') continue;
    const at = order.parse(event.version);
    if (at !== undefined && order.compare(at, current) > 0 && (!best || order.compare(at, best.at) < 0)) best = { text: event.version, at };
  }
  return best?.text;
}
