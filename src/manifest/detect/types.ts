/** What `maestro init` found in a folder, before it becomes a `maestro.yml`. */

/** One fact that led to a decision, e.g. `{file: 'package.json', reason: 'dependency "next"'}`. */
export interface Evidence {
  /** Path relative to the folder given to detect(), with forward slashes. */
  file: string;
  reason: string;
}

export type PackageManager =
  | 'npm'
  | 'pnpm'
  | 'yarn'
  | 'bun'
  | 'pip'
  | 'pipenv'
  | 'poetry'
  | 'uv'
  | 'go'
  | 'bundler'
  | 'deno'
  | 'composer'
  | 'cargo'
  | 'maven'
  | 'gradle'
  | 'dotnet'
  | 'mix'
  | 'gleam';

/** The runtimes a manifest names; everything else runs as `custom` with its own commands. */
export type ManifestRuntime = 'node' | 'python' | 'go' | 'ruby' | 'static' | 'custom';

export interface DetectedService {
  name: string;
  /** Folder of the service relative to the detected folder (`.` for the folder itself). */
  path: string;
  runtime: ManifestRuntime;
  /** Human name of what was recognised: `Next.js`, `FastAPI`, `static HTML`. */
  framework: string;
  packageManager?: PackageManager;
  /** Evidence for the package manager, kept apart so it can be told in one phrase. */
  packageManagerEvidence?: Evidence;
  install?: string;
  build?: string;
  /** Shell command run in `path`; it makes the app listen on $PORT. Absent for static sites. */
  start?: string;
  /** Folder (relative to `path`) holding the built site, for runtime static. */
  staticDir?: string;
  /** `$PORT` when the app reads PORT, a fixed number when it cannot. */
  port: number | '$PORT';
  health?: string;
  env?: Record<string, string>;
  /** Names of other detected services this one depends on (monorepo workspace dependencies). */
  dependsOn?: string[];
  /** Why: the first entry is the framework evidence. */
  evidence: Evidence[];
  /** Things the user should know or check, one sentence each. */
  notes: string[];
}

/** A folder that was looked at and deliberately not made a service (a library, a tool). */
export interface SkippedPackage {
  path: string;
  reason: string;
}

export interface Detection {
  /** DNS label for the project. */
  project: string;
  services: DetectedService[];
  /** Why something could not be placed; each names the file or folder concerned. */
  problems: string[];
  skipped?: SkippedPackage[];
}
