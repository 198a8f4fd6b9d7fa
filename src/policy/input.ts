/**
 * The document every policy expression reads as `input`: what is known about one release of one service
 * about to reach one environment. The zod schema is the one description of it: the TypeScript type, the
 * dry run's validation, the field checks of compiled expressions and the CEL number types all come from it.
 */
import { z } from 'zod';

export const SEVERITIES = ['critical', 'high', 'medium', 'low', 'unknown'] as const;
export type Severity = (typeof SEVERITIES)[number];

export const ENVIRONMENT_KINDS = ['production', 'preview', 'other'] as const;
export type EnvironmentKind = (typeof ENVIRONMENT_KINDS)[number];

const count = z.int().min(0);
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

const component = z.strictObject({
  name: z.string(),
  version: z.string(),
  ecosystem: z.string().describe('npm, pypi, go, ... (the purl type); "" when unknown'),
  purl: z.string().describe('the package URL, "" when unknown'),
  licenses: z.array(z.string()).describe('SPDX ids or expressions as the SBOM has them'),
});

export const policyInputSchema = z.strictObject({
  project: z.string(),
  service: z.string(),
  build: z.strictObject({
    testsPassed: z.boolean().describe("the build's test step passed (true when the service has none)"),
    coverage: z
      .strictObject({ line: z.number().min(0).max(100).describe('line coverage in percent') })
      .optional()
      .describe('absent when the build reported no coverage: test with has(input.build.coverage)'),
    durationMs: count,
  }),
  sbom: z.strictObject({
    present: z.boolean(),
    complete: z.boolean().describe('every dependency of the lockfiles made it into the SBOM'),
    components: z.array(component),
    licenses: z.array(z.string()).describe("every component's licenses, sorted, once each"),
  }),
  vulnerabilities: z.strictObject({
    status: z.enum(['complete', 'unavailable']).describe('unavailable: no scan could be made (no advisories, no SBOM); the counts are then 0'),
    counts: z.strictObject({ critical: count, high: count, medium: count, low: count, unknown: count }).describe('distinct advisories by severity'),
    ids: z.array(z.string()).describe('advisory ids, sorted'),
  }),
  artifact: z.strictObject({
    digest: z.string().describe('sha256 of the artifact'),
    signed: z.boolean(),
    provenance: z.strictObject({
      verified: z.boolean().describe('a provenance attestation for this digest was found and its signature verified'),
      builder: z.string(),
      source: z.string(),
    }),
  }),
  environment: z.strictObject({ name: z.string(), kind: z.enum(ENVIRONMENT_KINDS) }),
  actor: z.strictObject({ name: z.string() }),
  time: z.strictObject({
    now: z.string().regex(RFC3339, 'must be an RFC 3339 time like 2025-03-14T09:30:00Z'),
    hour: z.int().min(0).max(23).describe('hour of the day, UTC'),
    weekday: z.int().min(0).max(6).describe("day of the week, UTC: 0 Sunday to 6 Saturday (CEL's getDayOfWeek)"),
  }),
});

/** What policies see as `input`. */
export type PolicyInput = z.infer<typeof policyInputSchema>;

export interface ComponentFact {
  name: string;
  version: string;
  /** Taken from the purl's type when absent. */
  ecosystem?: string;
  purl?: string;
  licenses?: readonly string[];
}

export interface FindingFact {
  /** The advisory id (GHSA-..., CVE-..., PYSEC-...). */
  id: string;
  /** As the advisory says it: CRITICAL, HIGH, MODERATE or MEDIUM, LOW; anything else counts as unknown. */
  severity?: string;
}

/** Plain facts about a release, as the build, the SBOM, the scan and the signer found them. */
export interface PolicyFacts {
  project: string;
  service: string;
  environment: { name: string; kind: EnvironmentKind };
  /** Who asked for the deployment (a token's name). */
  actor: string;
  now: Date;
  build: { testsPassed: boolean; durationMs: number; lineCoverage?: number };
  /** Absent when no SBOM was made. */
  sbom?: { complete: boolean; components: readonly ComponentFact[] };
  /** Absent when no scan could be made. */
  vulnerabilities?: { status: 'complete' | 'unavailable'; findings: readonly FindingFact[] };
  artifact: { digest: string; signed: boolean; provenance?: { verified: boolean; builder: string; source: string } };
}

/** `CRITICAL`, `Moderate`, `medium` -> a severity; anything unrecognised is `unknown`. */
export function normaliseSeverity(value: string | undefined): Severity {
  const word = (value ?? '').trim().toLowerCase();
  if (word === 'moderate') return 'medium';
  return (SEVERITIES as readonly string[]).includes(word) ? (word as Severity) : 'unknown';
}

const RANK: Record<Severity, number> = { critical: 4, high: 3, medium: 2, low: 1, unknown: 0 };

/** The purl type: `pkg:npm/%40scope/name@1.0.0` -> `npm`. */
function purlType(purl: string | undefined): string {
  return /^pkg:([A-Za-z][A-Za-z0-9.+-]*)\//.exec(purl ?? '')?.[1]?.toLowerCase() ?? '';
}

const sortedUnique = (values: Iterable<string>): string[] => [...new Set(values)].sort();

/** The input document from plain facts. Pure: the same facts give the same document. */
export function buildPolicyInput(facts: PolicyFacts): PolicyInput {
  const components = (facts.sbom?.components ?? []).map((c) => ({
    name: c.name,
    version: c.version,
    ecosystem: c.ecosystem ?? purlType(c.purl),
    purl: c.purl ?? '',
    licenses: [...(c.licenses ?? [])],
  }));

  // One advisory found in two packages (or twice) counts once, at its highest severity.
  const severityOf = new Map<string, Severity>();
  for (const finding of facts.vulnerabilities?.findings ?? []) {
    const severity = normaliseSeverity(finding.severity);
    const known = severityOf.get(finding.id);
    if (known === undefined || RANK[severity] > RANK[known]) severityOf.set(finding.id, severity);
  }
  const counts = { critical: 0, high: 0, medium: 0, low: 0, unknown: 0 };
  for (const severity of severityOf.values()) counts[severity] += 1;

  return {
    project: facts.project,
    service: facts.service,
    build: {
      testsPassed: facts.build.testsPassed,
      ...(facts.build.lineCoverage === undefined ? {} : { coverage: { line: facts.build.lineCoverage } }),
      durationMs: Math.max(0, Math.round(facts.build.durationMs)),
    },
    sbom: {
      present: facts.sbom !== undefined,
      complete: facts.sbom?.complete ?? false,
      components,
      licenses: sortedUnique(components.flatMap((c) => c.licenses)),
    },
    vulnerabilities: {
      status: facts.vulnerabilities?.status ?? 'unavailable',
      counts,
      ids: sortedUnique(severityOf.keys()),
    },
    artifact: {
      digest: facts.artifact.digest,
      signed: facts.artifact.signed,
      provenance: facts.artifact.provenance ?? { verified: false, builder: '', source: '' },
    },
    environment: { name: facts.environment.name, kind: facts.environment.kind },
    actor: { name: facts.actor },
    time: timeOf(facts.now),
  };
}

/** `now` as policies see it: RFC 3339 in UTC, with the hour and weekday a freeze window tests. */
export function timeOf(now: Date): PolicyInput['time'] {
  return { now: now.toISOString(), hour: now.getUTCHours(), weekday: now.getUTCDay() };
}
