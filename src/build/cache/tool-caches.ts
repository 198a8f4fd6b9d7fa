/**
 * A build's work folder and where Go and Cargo keep what they download in it. The source is
 * unpacked to `source/` (packed whole as the artifact); the steps' HOME is `home/`. Go's module
 * cache and Cargo's home sit under that HOME, where the tools look by default, but are named
 * explicitly so every step sees the same folders and the dependency cache knows what to save.
 * Being outside `source/`, they are never packed into an artifact, and being inside the work
 * folder, they are writable in the sandbox and removed with the build.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { findLockfiles, toolchainKindsFor } from './lockfiles.js';

export const WORK_SOURCE_FOLDER = 'source';
export const WORK_HOME_FOLDER = 'home';

export function workFolders(workDir: string): { source: string; home: string } {
  return { source: join(workDir, WORK_SOURCE_FOLDER), home: join(workDir, WORK_HOME_FOLDER) };
}

/** Relative to HOME. */
const GO_PATH = 'go';
const CARGO_HOME = '.cargo';

/**
 * What the dependency cache keeps for each tool, relative to HOME: what the install step downloads
 * (the whole module cache; Cargo's index, crate archives and git databases, from which it unpacks
 * sources again offline, as Cargo's guide to caching in CI advises) and the tools it installs
 * (`go install`, `cargo install`), which later steps may run and which are not there on a hit
 * otherwise. GOCACHE is left out: it holds compiled packages, which the build step fills (after
 * the dependency entry is saved), it is far larger than the downloads, and an unchanged build is
 * skipped whole by the build-output cache anyway.
 */
const CACHED_UNDER_HOME: Record<'go' | 'cargo', readonly string[]> = {
  go: [`${GO_PATH}/pkg/mod`, `${GO_PATH}/bin`],
  cargo: [
    `${CARGO_HOME}/bin`,
    `${CARGO_HOME}/.crates.toml`,
    `${CARGO_HOME}/.crates2.json`,
    `${CARGO_HOME}/registry/index`,
    `${CARGO_HOME}/registry/cache`,
    `${CARGO_HOME}/git/db`,
  ],
};

/** The tools whose downloads the dependency cache keeps, among toolchain kinds (see toolchainKindsFor). */
export type CachedTool = 'go' | 'cargo';

export function cachedToolsFor(kinds: readonly string[]): CachedTool[] {
  return (['cargo', 'go'] as const).filter((tool) => kinds.includes(tool));
}

/** The tools a service's lockfiles (go.mod, go.sum, Cargo.lock; in its folder or above) call for. */
export async function cachedToolsOf(sourceRoot: string, servicePath: string): Promise<CachedTool[]> {
  return cachedToolsFor(toolchainKindsFor((await findLockfiles(sourceRoot, servicePath)).map((lockfile) => lockfile.path)));
}

/** The tool folders the dependency cache keeps, relative to the work folder. */
export function toolCachePaths(tools: readonly CachedTool[]): string[] {
  return [...new Set(tools)].sort().flatMap((tool) => CACHED_UNDER_HOME[tool].map((path) => `${WORK_HOME_FOLDER}/${path}`));
}

/**
 * The variables that put the tools' folders under `home` (the steps' HOME), for those the service
 * does not set itself; what `go install` and `cargo install` put in them is in `$GOPATH/bin` and
 * `$CARGO_HOME/bin`. GOFLAGS always gains -modcacherw, beside the service's own flags: Go leaves
 * its module cache read-only otherwise, and an unprivileged Maestro could not remove the work
 * folder. Cargo through rustup also needs RUSTUP_HOME, which HOME no longer leads to: the host's
 * is passed on.
 */
export function toolCacheEnvironment(
  home: string,
  tools: readonly CachedTool[],
  serviceEnv: Readonly<Record<string, string>>,
  inherited: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const defaults: Record<string, string> = {};
  if (tools.includes('go')) {
    const goPath = serviceEnv.GOPATH ?? join(home, GO_PATH);
    Object.assign(defaults, { GOPATH: goPath, GOMODCACHE: join(goPath, 'pkg', 'mod'), GOCACHE: join(home, '.cache', 'go-build') });
  }
  if (tools.includes('cargo')) {
    defaults.CARGO_HOME = join(home, CARGO_HOME);
    const rustupHome = hostRustupHome(inherited);
    if (rustupHome !== undefined) defaults.RUSTUP_HOME = rustupHome;
  }
  const out = Object.fromEntries(Object.entries(defaults).filter(([name]) => !Object.hasOwn(serviceEnv, name)));
  if (tools.includes('go')) {
    const goFlags = (serviceEnv.GOFLAGS ?? '').trim();
    out.GOFLAGS = goFlags.split(/\s+/).includes('-modcacherw') ? goFlags : `${goFlags} -modcacherw`.trim();
  }
  return out;
}

function hostRustupHome(inherited: NodeJS.ProcessEnv): string | undefined {
  if (inherited.RUSTUP_HOME) return inherited.RUSTUP_HOME;
  const candidate = inherited.HOME ? join(inherited.HOME, '.rustup') : undefined;
  return candidate !== undefined && existsSync(candidate) ? candidate : undefined;
}
