/**
 * Which services a change to the repository touches: each service's `watch` patterns (or its
 * defaults: its folder, the workspace packages it uses and the workspace root's own files) against
 * the changed paths. Pure; the caller finds the workspace packages (previews/watch-inputs.ts reads
 * them from a checked-out tree).
 */
import picomatch from 'picomatch/posix.js';
import type { Manifest } from './schema.js';

/** The manifest's own path: changing it changes every service. */
export const MANIFEST_PATH = 'maestro.yml';

/** What a service uses of its workspace, as the build cache finds it (build/cache/inputs.ts). */
export interface ServiceWorkspace {
  /** Folders of the workspace packages the service depends on, relative to the repository root. */
  packages: readonly string[];
  /** The workspace root ('' for the repository root), when the service sits in a workspace. */
  workspaceRoot?: string;
}

/**
 * The services to deploy for a change, in the manifest's order: those a changed path matches. All of
 * them when maestro.yml itself changed. `workspaces` maps a service to what it uses of its workspace;
 * without it, a service's default patterns are its folder alone.
 */
export function servicesToDeploy(
  manifest: Manifest,
  changedPaths: readonly string[],
  workspaces: Readonly<Record<string, ServiceWorkspace>> = {},
): string[] {
  const names = Object.keys(manifest.services);
  const paths = changedPaths.map(normalisePath).filter((path) => path !== '');
  if (paths.includes(MANIFEST_PATH)) return names;
  return names.filter((name) => {
    const matches = matcher(watchRules(manifest, name, Object.hasOwn(workspaces, name) ? workspaces[name] : undefined));
    return paths.some(matches);
  });
}

/** A service's patterns: those that cover folders (and what is in them), those that name paths exactly, and exclusions. */
interface WatchRules {
  covering: string[];
  exact: string[];
  excluded: string[];
}

function watchRules(manifest: Manifest, service: string, workspace?: ServiceWorkspace): WatchRules {
  const spec = manifest.services[service]!;
  if (spec.watch !== undefined) {
    return {
      covering: spec.watch.filter((glob) => !glob.startsWith('!')),
      exact: [],
      excluded: spec.watch.filter((glob) => glob.startsWith('!')).map((glob) => glob.slice(1)),
    };
  }
  const root = workspace?.workspaceRoot;
  return {
    covering: [spec.path, ...(workspace?.packages ?? [])],
    // The root's files (not its folders) configure every package's build: package.json, the lockfile.
    exact: root === undefined ? [] : [root === '' ? '*' : `${root}/*`],
    excluded: [],
  };
}

/**
 * One test for a service: a path matches when a covering pattern names it or a folder above it (as
 * git pathspecs do), or an exact pattern names it, and no exclusion names it or a folder above it.
 * `.` is the whole repository; dot-files count like any other file.
 */
function matcher(rules: WatchRules): (path: string) => boolean {
  const compile = (patterns: string[]) => (patterns.length === 0 ? () => false : picomatch(patterns, { dot: true }));
  const include = compile([...rules.covering.flatMap(withContents), ...rules.exact]);
  const exclude = compile(rules.excluded.flatMap(withContents));
  return (path) => include(path) && !exclude(path);
}

function withContents(glob: string): string[] {
  if (glob === '.' || glob === '') return ['**'];
  return [glob, `${glob}/**`];
}

/** Git's paths are already relative with '/'; tolerate `./` and a leading '/'. */
function normalisePath(path: string): string {
  return path.replace(/^(\.\/|\/)+/, '');
}
