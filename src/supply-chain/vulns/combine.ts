import { componentKey } from './components.js';
import { packageKey } from './package-names.js';
import type { SourceAnswer } from './source.js';
import {
  SEVERITIES,
  type ScannedComponent,
  type SeverityCounts,
  type SourceReport,
  type UnscannedComponent,
  type VulnerabilityFinding,
  type VulnerabilityScanResult,
} from './types.js';

export interface AnsweredSource {
  name: string;
  required: boolean;
  answer: SourceAnswer & { cached: boolean };
}

/**
 * One scan result from each source's answer. The scan is complete only when at least one source answered,
 * every required source did, and at least one component could be checked; an optional source that could
 * not answer is marked in `sources` and leaves the status alone; components no source could check (a git
 * dependency, an ecosystem the advisories do not cover) are listed in `unscanned`. The same advisory for
 * the same package version from two sources (by id or alias) is one finding naming both.
 */
export function combineAnswers(input: {
  components: readonly ScannedComponent[];
  componentsDigest: string;
  answers: readonly AnsweredSource[];
  scannedAt: Date;
}): VulnerabilityScanResult {
  const { components, answers } = input;
  const answered = answers.filter((source) => source.answer.status === 'ok');
  const missing = answers.filter((source) => source.answer.status !== 'ok' && source.required);
  const unscanned = answered.length === 0 ? [] : unscannedByAll(components, answered);
  const reason =
    answers.length === 0
      ? 'no advisory source is configured: start Maestro with --advisories PATH (or MAESTRO_ADVISORIES)'
      : missing.length > 0
        ? missing.map((source) => `${source.name}: ${(source.answer as { reason: string }).reason}`).join('; ')
        : answered.length === 0
          ? `no advisory source could answer (${answers.map((source) => `${source.name}: ${(source.answer as { reason: string }).reason}`).join('; ')})`
          : // Sources that answered for none of the components (advisories of another ecosystem only) are no evidence either.
            components.length > 0 && unscanned.length === components.length
            ? `none of the ${components.length} components could be scanned (${unscanned[0]!.reason}${components.length > 1 ? ', ...' : ''})`
            : undefined;

  const findings = mergeFindings(answered.flatMap((source) => (source.answer.status === 'ok' ? source.answer.findings : [])));
  const counts = Object.fromEntries(SEVERITIES.map((severity) => [severity, 0])) as SeverityCounts;
  for (const finding of findings) counts[finding.severity]++;
  const advisoriesDigest = answered.map((source) => (source.answer.status === 'ok' ? source.answer.advisoriesDigest : undefined)).find(Boolean);

  return {
    status: reason === undefined ? 'complete' : 'unavailable',
    ...(reason !== undefined ? { reason } : {}),
    scannedAt: input.scannedAt.toISOString(),
    componentsDigest: input.componentsDigest,
    ...(advisoriesDigest ? { advisoriesDigest } : {}),
    components: components.length,
    counts,
    ids: [...new Set(findings.map((finding) => finding.id))].sort(),
    findings,
    unscanned,
    sources: answers.map(report),
  };
}

function report(source: AnsweredSource): SourceReport {
  const { answer } = source;
  if (answer.status !== 'ok') {
    return { name: source.name, required: source.required, status: 'unavailable', reason: answer.reason, cached: false, problems: [] };
  }
  return {
    name: source.name,
    required: source.required,
    status: 'ok',
    cached: answer.cached,
    ...(answer.advisoriesDigest ? { advisoriesDigest: answer.advisoriesDigest } : {}),
    ...(answer.advisories !== undefined ? { advisories: answer.advisories } : {}),
    problems: [...answer.problems],
  };
}

const SEVERITY_RANK = Object.fromEntries(SEVERITIES.map((severity, rank) => [severity, rank])) as Record<string, number>;

function mergeFindings(all: readonly VulnerabilityFinding[]): VulnerabilityFinding[] {
  const merged: VulnerabilityFinding[] = [];
  // Findings by package version, so each one is compared only with those of its own package.
  const bySubject = new Map<string, VulnerabilityFinding[]>();
  for (const finding of all) {
    const names = new Set([finding.id, ...finding.aliases]);
    const subject = `${packageKey(finding.package.ecosystem, finding.package.name)}@${finding.package.version}`;
    const siblings = bySubject.get(subject) ?? [];
    const same = siblings.find((other) => [other.id, ...other.aliases].some((name) => names.has(name)));
    if (!same) {
      const copy = { ...finding, aliases: [...finding.aliases], fixedVersions: [...finding.fixedVersions], sources: [...finding.sources] };
      merged.push(copy);
      siblings.push(copy);
      bySubject.set(subject, siblings);
      continue;
    }
    // The first source's words stand; the other adds what it knows.
    for (const alias of [finding.id, ...finding.aliases]) if (alias !== same.id && !same.aliases.includes(alias)) same.aliases.push(alias);
    for (const version of finding.fixedVersions) if (!same.fixedVersions.includes(version)) same.fixedVersions.push(version);
    for (const source of finding.sources) if (!same.sources.includes(source)) same.sources.push(source);
    if (same.severity === 'unknown') same.severity = finding.severity;
    if (!same.cvss && finding.cvss) same.cvss = finding.cvss;
  }
  return merged.sort(
    (a, b) =>
      SEVERITY_RANK[a.severity]! - SEVERITY_RANK[b.severity]! ||
      compareText(a.package.name, b.package.name) ||
      compareText(a.package.version, b.package.version) ||
      compareText(a.id, b.id),
  );
}

const compareText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Components that no answering source could check, with every source's reason. */
function unscannedByAll(components: readonly ScannedComponent[], answered: readonly AnsweredSource[]): UnscannedComponent[] {
  const reasons = new Map<string, string[]>();
  for (const source of answered) {
    if (source.answer.status !== 'ok') continue;
    for (const item of source.answer.unscanned) {
      const key = componentKey(item.package);
      const list = reasons.get(key) ?? [];
      list.push(answered.length > 1 ? `${source.name}: ${item.reason}` : item.reason);
      reasons.set(key, list);
    }
  }
  return components
    .filter((component) => (reasons.get(componentKey(component))?.length ?? 0) >= answered.length)
    .map((component) => ({ package: { ...component }, reason: reasons.get(componentKey(component))!.join('; ') }));
}
