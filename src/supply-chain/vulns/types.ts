/** The shapes vulnerability scanning takes in and gives back. */

export const ECOSYSTEMS = ['npm', 'PyPI', 'Go'] as const;
/** OSV's names for the ecosystems Maestro scans. */
export type Ecosystem = (typeof ECOSYSTEMS)[number];

/**
 * One package of a build, as the SBOM lists it (the SBOM's components are a superset of this). `version`
 * is the ecosystem's own spelling: npm "4.17.21", PyPI "2.11.3", Go "v0.7.0".
 */
export interface ScannedComponent {
  ecosystem: Ecosystem;
  name: string;
  version: string;
  purl: string;
}

export const SEVERITIES = ['critical', 'high', 'medium', 'low', 'unknown'] as const;
export type Severity = (typeof SEVERITIES)[number];
export type SeverityCounts = Record<Severity, number>;

/** One advisory that affects one component. */
export interface VulnerabilityFinding {
  /** The advisory's id (GHSA-..., PYSEC-..., GO-...). */
  id: string;
  /** Other names of the same advisory: CVE ids and the like. */
  aliases: string[];
  summary: string;
  severity: Severity;
  /** The CVSS v3 base score, when the advisory has a CVSS v3 vector. */
  cvss?: { vector: string; score: number };
  package: ScannedComponent;
  /** Versions that fix it: the `fixed` events that close the affected range the version is in. */
  fixedVersions: string[];
  /** The sources that reported it (`osv`, `npm-registry`). */
  sources: string[];
  /** Where to read about it. */
  url?: string;
}

/** A component no source could check, and why (a version its ecosystem cannot read, no advisories for it). */
export interface UnscannedComponent {
  package: ScannedComponent;
  reason: string;
}

/** What one advisory source did in a scan. */
export interface SourceReport {
  name: string;
  /** A required source that cannot answer makes the whole scan unavailable; an optional one only marks itself. */
  required: boolean;
  status: 'ok' | 'unavailable';
  /** Why it could not answer. */
  reason?: string;
  /** Whether its answer came from the scan cache. */
  cached: boolean;
  /** The digest of the advisory set it answered from (offline sources). */
  advisoriesDigest?: string;
  /** Advisories it holds for the scanned ecosystems (offline sources). */
  advisories?: number;
  /** Advisories it skipped because they could not be read, and similar; never fatal. */
  problems: string[];
}

export interface VulnerabilityScanResult {
  /**
   * `unavailable` when a required source, or every source, could not answer, or no component could be
   * checked at all: never read it as a pass. A complete scan may still list some components as `unscanned`.
   */
  status: 'complete' | 'unavailable';
  /** Why the scan is unavailable. */
  reason?: string;
  scannedAt: string;
  /** sha256 of the scanned components (sorted, deduplicated). */
  componentsDigest: string;
  /** The digest of the OSV advisories the scan used, when an OSV source answered. */
  advisoriesDigest?: string;
  /** How many distinct components were scanned. */
  components: number;
  /** Findings by severity: one per advisory and affected component. */
  counts: SeverityCounts;
  /** The distinct advisory ids found, sorted. */
  ids: string[];
  /** Most severe first. */
  findings: VulnerabilityFinding[];
  /** Components no source could check. */
  unscanned: UnscannedComponent[];
  sources: SourceReport[];
}
