import semver from 'semver';
import type { ScannedComponent, Severity, UnscannedComponent, VulnerabilityFinding } from './types.js';

/**
 * npm's bulk advisory endpoint (what `npm audit` asks): POST {name: [versions]}, answered with each
 * package's advisories and the range of versions each affects. Pure: the request body and reading the
 * answer; the asking is in npm-bulk-source.ts.
 */

export function bulkRequestBody(components: readonly ScannedComponent[]): Record<string, string[]> {
  const body: Record<string, string[]> = {};
  for (const component of components) {
    if (component.ecosystem !== 'npm') continue;
    const versions = (body[component.name] ??= []);
    if (!versions.includes(component.version)) versions.push(component.version);
  }
  return body;
}

const NPM_SEVERITY = new Map<string, Severity>([
  ['critical', 'critical'],
  ['high', 'high'],
  ['moderate', 'medium'],
  ['low', 'low'],
  ['info', 'low'],
]);

export type BulkReading =
  | { ok: true; findings: VulnerabilityFinding[]; unscanned: UnscannedComponent[]; problems: string[] }
  | { ok: false; reason: string };

/** The findings in a 200 answer: each advisory of a package that covers one of its scanned versions. */
export function readBulkAnswer(answer: unknown, components: readonly ScannedComponent[], source: string): BulkReading {
  if (typeof answer !== 'object' || answer === null || Array.isArray(answer)) {
    return { ok: false, reason: 'the answer is not a bulk advisory report (a JSON object of package names)' };
  }
  const report = answer as Record<string, unknown>;
  const findings: VulnerabilityFinding[] = [];
  const unscanned: UnscannedComponent[] = [];
  const problems: string[] = [];
  for (const component of components) {
    if (component.ecosystem !== 'npm') {
      unscanned.push({ package: component, reason: "npm's registry only knows npm packages" });
      continue;
    }
    if (semver.valid(component.version, { loose: true }) === null) {
      unscanned.push({ package: component, reason: `version ${JSON.stringify(component.version)} is not a semver version, so advisory ranges cannot be judged` });
      continue;
    }
    const advisories = report[component.name];
    if (advisories === undefined) continue;
    if (!Array.isArray(advisories)) {
      problems.push(`the advisories of ${component.name} are not a list; skipped`);
      continue;
    }
    for (const item of advisories) {
      const advisory = readAdvisory(item);
      if (typeof advisory === 'string') {
        problems.push(`${component.name}: ${advisory}`);
        continue;
      }
      if (!semver.satisfies(component.version, advisory.range, { loose: true, includePrerelease: true })) continue;
      findings.push({
        id: advisory.id,
        aliases: [],
        summary: advisory.title,
        severity: advisory.severity,
        ...(advisory.cvss ? { cvss: advisory.cvss } : {}),
        package: { ...component },
        fixedVersions: [],
        sources: [source],
        ...(advisory.url ? { url: advisory.url } : {}),
      });
    }
  }
  return { ok: true, findings, unscanned, problems };
}

interface BulkAdvisory {
  id: string;
  title: string;
  severity: Severity;
  range: string;
  url?: string;
  cvss?: { vector: string; score: number };
}

function readAdvisory(item: unknown): BulkAdvisory | string {
  if (typeof item !== 'object' || item === null) return 'an advisory that is not an object; skipped';
  const { id, url, title, severity, vulnerable_versions: range, cvss } = item as Record<string, unknown>;
  if (typeof range !== 'string' || semver.validRange(range, { loose: true }) === null) {
    return `advisory ${String(id)} has no readable vulnerable_versions; skipped`;
  }
  // GitHub's advisory id, when the registry links to it, so the same advisory from OSV counts once.
  const ghsa = typeof url === 'string' ? /\/(GHSA(?:-[23456789cfghjmpqrvwx]{4}){3})\b/.exec(url)?.[1] : undefined;
  const vector = typeof cvss === 'object' && cvss !== null ? (cvss as Record<string, unknown>) : undefined;
  return {
    id: ghsa ?? `NPM-${String(id)}`,
    title: typeof title === 'string' ? title : '',
    severity: (typeof severity === 'string' && NPM_SEVERITY.get(severity.toLowerCase())) || 'unknown',
    range,
    ...(typeof url === 'string' ? { url } : {}),
    ...(vector && typeof vector.vectorString === 'string' && typeof vector.score === 'number' && vector.score > 0
      ? { cvss: { vector: vector.vectorString, score: vector.score } }
      : {}),
  };
}
