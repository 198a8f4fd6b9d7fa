/**
 * What lockfile readers produce and what an SBOM is made of. Readers turn one lockfile's text into a
 * graph of locked packages; `graph.ts` walks it from the service to decide scope and directness.
 */

export type Ecosystem = 'npm' | 'PyPI' | 'Go';

/** CycloneDX's component scopes: `excluded` is a development-only dependency, absent at run time. */
export type Scope = 'required' | 'optional' | 'excluded';

/** Where a package comes from; only `registry` packages are the ones advisories name. */
export type Origin = 'registry' | 'workspace' | 'local' | 'git' | 'url';

/** CycloneDX hash algorithm names (the subset lockfiles carry). */
export type HashAlgorithm = 'SHA-1' | 'SHA-256' | 'SHA-384' | 'SHA-512';

export interface Hash {
  alg: HashAlgorithm;
  /** Lowercase hex. */
  content: string;
}

/** One downloadable file of a package (a wheel, an sdist) with its own hashes. */
export interface Distribution {
  url: string;
  hashes: Hash[];
}

/** How a package is needed by the one that depends on it. */
export type EdgeKind = 'required' | 'optional' | 'dev';

export interface Edge {
  /** The `key` of the package depended on. */
  to: string;
  kind: EdgeKind;
}

export interface LockedPackage {
  /** Unique within one lockfile's reading (a path, or name@version). */
  key: string;
  ecosystem: Ecosystem;
  name: string;
  version: string;
  purl: string;
  origin: Origin;
  hashes: Hash[];
  distributions: Distribution[];
  /** Where the package was fetched from, when the lockfile says. */
  downloadUrl?: string;
  /** As the lockfile writes them (an SPDX id or expression, or free text). */
  licenses: string[];
  dependencies: Edge[];
}

/** Something a reader could not take in, as a user would fix it: which file, which line, what. */
export interface Problem {
  file: string;
  line?: number;
  message: string;
}

export interface LockfileGraph {
  packages: LockedPackage[];
  /** What the service itself depends on. */
  roots: Edge[];
  /**
   * Packages the lockfile pins without saying who needs them (Go's indirect modules): they are kept
   * with this scope and are never direct.
   */
  unplaced: Array<{ key: string; scope: Scope }>;
  /** Whether the lockfile says what each package depends on (go.sum and plain requirements files do not). */
  dependenciesKnown: boolean;
  problems: Problem[];
}

/** The flat, normalised view of one component that vulnerability scanning and policies read. */
export interface Component {
  ecosystem: Ecosystem;
  name: string;
  version: string;
  purl: string;
  licenses: string[];
  scope: Scope;
  /** The service names it itself (not only through another package). */
  direct: boolean;
  origin: Origin;
}

export const emptyGraph = (problems: Problem[] = []): LockfileGraph => ({ packages: [], roots: [], unplaced: [], dependenciesKnown: true, problems });

export function problemText(problem: Problem): string {
  return `${problem.file}${problem.line === undefined ? '' : `:${problem.line}`}: ${problem.message}`;
}
