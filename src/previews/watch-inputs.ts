/**
 * The effectful half of "which services does this change touch": reading a checked-out tree for the
 * workspace packages each service uses (as the build cache counts them), then the pure matcher.
 */
import { serviceWorkspaces } from '../build/cache/index.js';
import { MaestroError } from '../common/index.js';
import { formatProblem, parseManifest, servicesToDeploy, type Manifest, type ServiceWorkspace } from '../manifest/index.js';

/** For each service of the manifest, what it uses of its workspace in the tree at `sourceDir`. */
export async function watchedWorkspaces(sourceDir: string, manifest: Manifest): Promise<Record<string, ServiceWorkspace>> {
  const names = Object.keys(manifest.services);
  const found = await serviceWorkspaces(sourceDir, names.map((name) => manifest.services[name]!.path));
  return Object.fromEntries(names.map((name, index) => [name, found[index]!]));
}

/**
 * The services a change touches, for a commit checked out at `sourceDir` whose maestro.yml reads
 * `manifestText`; every service when that cannot be told (a package.json that does not parse: its
 * build will say what is wrong).
 */
export async function changedServices(input: { manifestText: string; sourceDir: string; changed: readonly string[] }): Promise<string[]> {
  const parsed = parseManifest(input.manifestText, 'maestro.yml');
  if (!parsed.ok) throw new MaestroError('validation_error', `maestro.yml is not valid:\n${parsed.problems.map(formatProblem).join('\n')}`);
  const all = Object.keys(parsed.manifest.services);
  let workspaces: Record<string, ServiceWorkspace>;
  try {
    workspaces = await watchedWorkspaces(input.sourceDir, parsed.manifest);
  } catch {
    return all;
  }
  return servicesToDeploy(parsed.manifest, input.changed, workspaces);
}
