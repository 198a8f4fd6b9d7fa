/**
 * npm, yarn and pnpm workspaces as far as caching cares: which folders are workspace packages, and
 * which of them a service uses, directly or through other packages. Pure: callers read the files.
 */
import { parse as parseYaml } from 'yaml';
import { MaestroError } from '../../common/index.js';
import { printable } from '../tree-paths.js';

/** A package.json, reduced to its name and the names it depends on. */
export interface PackageFacts {
  name?: string;
  dependsOn: string[];
}

export interface WorkspaceMember extends PackageFacts {
  /** Folder relative to the source root. */
  folder: string;
}

const DEPENDENCY_FIELDS = ['dependencies', 'devDependencies', 'optionalDependencies', 'peerDependencies'] as const;

/** Reads the facts of a package.json's text; `file` names it in the error when it is not valid JSON. */
export function packageFacts(textOfFile: string, file: string): PackageFacts & { workspaces: string[] } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(textOfFile);
  } catch (error) {
    throw new MaestroError('validation_error', `${printable(file)} is not valid JSON (${(error as Error).message}); fix it so the build cache can tell which workspace packages it uses`, {
      file: printable(file),
    });
  }
  const object = isObject(parsed) ? parsed : {};
  const dependsOn = new Set<string>();
  for (const field of DEPENDENCY_FIELDS) {
    const deps = object[field];
    if (isObject(deps)) for (const name of Object.keys(deps)) dependsOn.add(name);
  }
  const workspacesField = object.workspaces;
  // npm and yarn 1 take a list; yarn also takes { packages: [...] }.
  const workspaces = stringList(isObject(workspacesField) ? workspacesField.packages : workspacesField);
  return {
    ...(typeof object.name === 'string' && object.name !== '' ? { name: object.name } : {}),
    dependsOn: [...dependsOn].sort(),
    workspaces,
  };
}

/** The `packages` globs of a pnpm-workspace.yaml. */
export function pnpmWorkspacePatterns(textOfFile: string, file: string): string[] {
  let parsed: unknown;
  try {
    parsed = parseYaml(textOfFile);
  } catch (error) {
    throw new MaestroError('validation_error', `${printable(file)} is not valid YAML (${(error as Error).message.split('\n')[0]}); fix it so the build cache can find the workspace packages`, {
      file: printable(file),
    });
  }
  return stringList(isObject(parsed) ? parsed.packages : undefined);
}

/**
 * The folders (relative to the workspace root) that the globs name: `*` matches within one name,
 * `**` any number of folders, `!pattern` excludes; like npm's globbing, wildcards skip dot-folders.
 */
export function matchWorkspaceFolders(patterns: readonly string[], folders: readonly string[]): string[] {
  const included: string[][] = [];
  const excluded: string[][] = [];
  for (const raw of patterns) {
    const negated = raw.startsWith('!');
    const segments = raw
      .slice(negated ? 1 : 0)
      .split('/')
      .filter((segment) => segment !== '' && segment !== '.');
    // A pattern that climbs out of the workspace cannot name one of its packages.
    if (segments.length === 0 || segments.includes('..')) continue;
    (negated ? excluded : included).push(segments);
  }
  return folders
    .filter((folder) => {
      const parts = folder.split('/');
      return included.some((pattern) => matchSegments(pattern, parts)) && !excluded.some((pattern) => matchSegments(pattern, parts));
    })
    .sort();
}

function matchSegments(pattern: readonly string[], parts: readonly string[]): boolean {
  if (pattern.length === 0) return parts.length === 0;
  const [head, ...rest] = pattern;
  if (head === '**') {
    for (let skip = 0; skip <= parts.length; skip += 1) {
      if (skip > 0 && parts[skip - 1]!.startsWith('.')) return false;
      if (matchSegments(rest, parts.slice(skip))) return true;
    }
    return false;
  }
  if (parts.length === 0) return false;
  return matchName(head!, parts[0]!) && matchSegments(rest, parts.slice(1));
}

function matchName(pattern: string, name: string): boolean {
  if (!/[*?]/.test(pattern)) return pattern === name;
  if (name.startsWith('.') && !pattern.startsWith('.')) return false;
  const source = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${source}$`, 's').test(name);
}

/**
 * The folders of the workspace packages `start` uses, following dependencies between packages
 * transitively (cycles are fine); `excludeFolder` (the service's own folder) is never listed.
 */
export function workspaceDependencies(start: PackageFacts, members: readonly WorkspaceMember[], excludeFolder?: string): string[] {
  const byName = new Map<string, WorkspaceMember[]>();
  for (const member of members) {
    if (member.name === undefined) continue;
    byName.set(member.name, [...(byName.get(member.name) ?? []), member]);
  }
  const used = new Set<string>();
  const pending = [...start.dependsOn];
  const seenNames = new Set<string>();
  while (pending.length > 0) {
    const name = pending.pop()!;
    if (seenNames.has(name)) continue;
    seenNames.add(name);
    for (const member of byName.get(name) ?? []) {
      if (used.has(member.folder)) continue;
      used.add(member.folder);
      pending.push(...member.dependsOn);
    }
  }
  if (excludeFolder !== undefined) used.delete(excludeFolder);
  return [...used].sort();
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}
