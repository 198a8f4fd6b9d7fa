/** A package.json as far as the SBOM cares: who it is and what it asks for, by kind. */
import type { EdgeKind, Problem } from '../model.js';
import { asString, isObject, parseJson, stringEntries } from '../text-position.js';

export interface NodeManifest {
  name?: string;
  version?: string;
  /** Declared dependencies with their ranges; a name in several groups keeps its strongest kind. */
  dependencies: Array<{ name: string; range: string; kind: EdgeKind }>;
  /** The `workspaces` globs (npm, yarn), when it is a workspace root. */
  workspaces: string[];
}

const GROUPS: Array<[string, EdgeKind]> = [
  ['dependencies', 'required'],
  ['optionalDependencies', 'optional'],
  ['peerDependencies', 'required'],
  ['devDependencies', 'dev'],
];

export function readNodeManifest(text: string, file: string): { manifest: NodeManifest } | { problem: Problem } {
  const parsed = parseJson(text, file);
  if ('problem' in parsed) return parsed;
  const json = isObject(parsed.value) ? parsed.value : {};
  const seen = new Set<string>();
  const dependencies: NodeManifest['dependencies'] = [];
  for (const [group, kind] of GROUPS) {
    for (const [name, range] of stringEntries(json[group])) {
      if (seen.has(name)) continue;
      seen.add(name);
      dependencies.push({ name, range, kind });
    }
  }
  const workspacesField = isObject(json.workspaces) ? json.workspaces.packages : json.workspaces;
  const workspaces = Array.isArray(workspacesField) ? workspacesField.filter((item): item is string => typeof item === 'string') : [];
  const name = asString(json.name);
  const version = asString(json.version);
  return { manifest: { ...(name ? { name } : {}), ...(version ? { version } : {}), dependencies, workspaces } };
}

/** Whether a package.json declares anything to install. */
export function declaresDependencies(manifest: NodeManifest): boolean {
  return manifest.dependencies.length > 0;
}
