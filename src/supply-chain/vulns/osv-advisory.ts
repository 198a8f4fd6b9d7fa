import { cvss3BaseScore, ratingOfScore } from './cvss.js';
import { packageKey } from './package-names.js';
import { ECOSYSTEMS, type Ecosystem, type Severity } from './types.js';

/**
 * An OSV advisory (https://ossf.github.io/osv-schema/) reduced to what matching and reporting use, so a
 * whole ecosystem's database stays small in memory.
 */
export interface Advisory {
  id: string;
  aliases: string[];
  summary: string;
  severity: Severity;
  cvss?: { vector: string; score: number };
  url: string;
  affected: AffectedPackage[];
}

export interface AffectedPackage {
  ecosystem: Ecosystem;
  name: string;
  /** The lookup key (see packageKey). */
  key: string;
  ranges: OsvRange[];
  /** Versions listed as affected one by one. */
  versions: string[];
}

export interface OsvRange {
  type: 'ECOSYSTEM' | 'SEMVER';
  events: OsvEvent[];
}

export const EVENT_KINDS = ['introduced', 'fixed', 'last_affected', 'limit'] as const;
export interface OsvEvent {
  kind: (typeof EVENT_KINDS)[number];
  version: string;
}

export type ReadAdvisory =
  | { kind: 'advisory'; advisory: Advisory }
  /** Withdrawn, or only about ecosystems Maestro does not scan: left out, and that is no problem. */
  | { kind: 'skipped'; id: string; why: 'withdrawn' | 'other ecosystems' }
  | { kind: 'problem'; message: string };

// GitHub's ratings; MODERATE is CVSS's medium.
const GITHUB_SEVERITY = new Map<string, Severity>([
  ['LOW', 'low'],
  ['MODERATE', 'medium'],
  ['MEDIUM', 'medium'],
  ['HIGH', 'high'],
  ['CRITICAL', 'critical'],
]);

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const strings = (value: unknown): string[] => (Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : []);

/** Reads one parsed OSV document; anything unreadable is a problem naming what is wrong, never an exception. */
export function readOsvAdvisory(document: unknown): ReadAdvisory {
  if (!isObject(document)) return { kind: 'problem', message: 'not an OSV advisory (the JSON is not an object)' };
  const id = document.id;
  if (typeof id !== 'string' || id === '') return { kind: 'problem', message: 'not an OSV advisory (no "id")' };
  if (typeof document.withdrawn === 'string' && document.withdrawn !== '') return { kind: 'skipped', id, why: 'withdrawn' };
  if (!Array.isArray(document.affected)) return { kind: 'problem', message: `${id}: "affected" is missing or not a list` };

  const affected: AffectedPackage[] = [];
  for (const entry of document.affected) {
    const read = readAffected(entry);
    if (read) affected.push(read);
  }
  if (affected.length === 0) return { kind: 'skipped', id, why: 'other ecosystems' };

  const cvss = cvssOf(document);
  const rated = isObject(document.database_specific) && typeof document.database_specific.severity === 'string'
    ? GITHUB_SEVERITY.get(document.database_specific.severity.toUpperCase())
    : undefined;
  return {
    kind: 'advisory',
    advisory: {
      id,
      aliases: strings(document.aliases),
      summary: summaryOf(document),
      severity: rated ?? (cvss ? ratingOfScore(cvss.score) : 'unknown'),
      ...(cvss ? { cvss } : {}),
      url: id.startsWith('GHSA-') ? `https://github.com/advisories/${id}` : `https://osv.dev/vulnerability/${encodeURIComponent(id)}`,
      affected,
    },
  };
}

function readAffected(entry: unknown): AffectedPackage | undefined {
  if (!isObject(entry) || !isObject(entry.package)) return undefined;
  const { ecosystem, name } = entry.package;
  if (typeof ecosystem !== 'string' || !(ECOSYSTEMS as readonly string[]).includes(ecosystem)) return undefined;
  if (typeof name !== 'string' || name.trim() === '') return undefined;
  const ranges: OsvRange[] = [];
  for (const range of Array.isArray(entry.ranges) ? entry.ranges : []) {
    // GIT ranges name commits, which components do not carry.
    if (!isObject(range) || (range.type !== 'ECOSYSTEM' && range.type !== 'SEMVER') || !Array.isArray(range.events)) continue;
    const events = range.events.map(readEvent).filter((event): event is OsvEvent => event !== undefined);
    if (events.some((event) => event.kind === 'introduced')) ranges.push({ type: range.type, events });
  }
  const versions = strings(entry.versions);
  if (ranges.length === 0 && versions.length === 0) return undefined;
  const typed = ecosystem as Ecosystem;
  return { ecosystem: typed, name, key: packageKey(typed, name), ranges, versions };
}

function readEvent(event: unknown): OsvEvent | undefined {
  if (!isObject(event)) return undefined;
  for (const kind of EVENT_KINDS) {
    const version = event[kind];
    if (typeof version === 'string' && version !== '') return { kind, version };
  }
  return undefined;
}

function summaryOf(document: Record<string, unknown>): string {
  if (typeof document.summary === 'string' && document.summary.trim() !== '') return document.summary.trim();
  const firstLine = typeof document.details === 'string' ? (document.details.trim().split('\n')[0] ?? '') : '';
  return firstLine.length > 200 ? `${firstLine.slice(0, 199)}…` : firstLine;
}

/** The highest CVSS v3 base score among the advisory's vectors (top level first, then per package). */
function cvssOf(document: Record<string, unknown>): { vector: string; score: number } | undefined {
  const lists = [document.severity, ...(Array.isArray(document.affected) ? document.affected.map((entry) => (isObject(entry) ? entry.severity : undefined)) : [])];
  let best: { vector: string; score: number } | undefined;
  for (const list of lists) {
    for (const item of Array.isArray(list) ? list : []) {
      if (!isObject(item) || item.type !== 'CVSS_V3' || typeof item.score !== 'string') continue;
      const score = cvss3BaseScore(item.score);
      if (score !== undefined && (!best || score > best.score)) best = { vector: item.score, score };
    }
  }
  return best;
}
