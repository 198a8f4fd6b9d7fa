/** Supply-chain evidence of builds: each part's public face. */
export { VulnerabilityScanner, type VulnerabilityScannerOptions, type ScannedComponent, type VulnerabilityScanResult, type VulnerabilityFinding } from './vulns/index.js';
