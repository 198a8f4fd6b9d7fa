/**
 * Vulnerability scanning: a build's components (ScannedComponent, from its SBOM) against OSV advisories
 * read from files (a folder, osv.dev's all.zip, a .tar.gz) and, optionally, npm's bulk advisory endpoint.
 * `new VulnerabilityScanner({advisories, npmRegistry, store}).scanBuild(buildId, components)` is the whole
 * use; the rest is here for tests and for views of the result.
 */
export { VulnerabilityScanner, type VulnerabilityScannerOptions } from './scanner.js';
export {
  ECOSYSTEMS,
  SEVERITIES,
  type Ecosystem,
  type ScannedComponent,
  type Severity,
  type SeverityCounts,
  type SourceReport,
  type UnscannedComponent,
  type VulnerabilityFinding,
  type VulnerabilityScanResult,
} from './types.js';
export { OsvAdvisorySource, loadOsvAdvisories, type AdvisoriesStatus, type LoadedAdvisories, type OsvSourceOptions } from './osv-source.js';
export { NpmBulkAdvisorySource, DEFAULT_NPM_REGISTRY, bulkAdvisoryUrl, type NpmBulkSourceOptions } from './npm-bulk-source.js';
export type { AdvisorySource, ScanCache, SourceAnswer, SourceQuery } from './source.js';
export { componentsDigest, normaliseComponents } from './components.js';
export { packageKey } from './package-names.js';
export { cvss3BaseScore, ratingOfScore } from './cvss.js';
export { readOsvAdvisory, type Advisory } from './osv-advisory.js';
export { inRange, affectsVersion } from './match.js';
export { versionOrder, parsePep440, comparePep440, formatPep440, parseGoVersion, type VersionOrder } from './versions/index.js';
export { VulnerabilityScanResultSchema } from './result-schema.js';
export { formatScan } from './format.js';
