/**
 * pyproject.toml as far as the SBOM cares: the project's name and version and which packages it
 * names itself, by kind (PEP 621 `[project]`, PEP 735 `[dependency-groups]`, Poetry's
 * `[tool.poetry]` tables, uv's `dev-dependencies`).
 */
import type { EdgeKind, Problem } from '../model.js';
import { pep503Name } from '../purl.js';
import { asString, isObject } from '../text-position.js';
import { parseTomlFile } from './toml-text.js';

export interface PyprojectFacts {
  name?: string;
  version?: string;
  /** PEP 503 names; a name in several groups keeps its strongest kind. */
  dependencies: Array<{ name: string; kind: EdgeKind }>;
}

export function readPyproject(text: string, file: string): { facts: PyprojectFacts } | { problem: Problem } {
  const parsed = parseTomlFile(text, file);
  if ('problem' in parsed) return parsed;
  const toml = parsed.value;
  const project = isObject(toml.project) ? toml.project : {};
  const tool = isObject(toml.tool) ? toml.tool : {};
  const poetry = isObject(tool.poetry) ? tool.poetry : {};
  const uv = isObject(tool.uv) ? tool.uv : {};
  const found = new Map<string, EdgeKind>();
  const add = (name: string | undefined, kind: EdgeKind): void => {
    if (!name) return;
    const key = pep503Name(name);
    if (key === 'python') return;
    const known = found.get(key);
    if (known === undefined || rank(kind) > rank(known)) found.set(key, kind);
  };

  for (const spec of strings(project.dependencies)) add(requirementName(spec), 'required');
  if (isObject(project['optional-dependencies'])) for (const list of Object.values(project['optional-dependencies'])) for (const spec of strings(list)) add(requirementName(spec), 'optional');
  if (isObject(toml['dependency-groups'])) for (const list of Object.values(toml['dependency-groups'])) for (const spec of strings(list)) add(requirementName(spec), 'dev');
  for (const spec of strings(uv['dev-dependencies'])) add(requirementName(spec), 'dev');

  if (isObject(poetry.dependencies)) {
    for (const [name, value] of Object.entries(poetry.dependencies)) add(name, isObject(value) && value.optional === true ? 'optional' : 'required');
  }
  if (isObject(poetry['dev-dependencies'])) for (const name of Object.keys(poetry['dev-dependencies'])) add(name, 'dev');
  if (isObject(poetry.group)) {
    for (const [group, table] of Object.entries(poetry.group)) {
      if (!isObject(table) || !isObject(table.dependencies)) continue;
      for (const name of Object.keys(table.dependencies)) add(name, group === 'main' ? 'required' : 'dev');
    }
  }

  const name = asString(project.name) ?? asString(poetry.name);
  const version = asString(project.version) ?? asString(poetry.version);
  return {
    facts: {
      ...(name ? { name } : {}),
      ...(version ? { version } : {}),
      dependencies: [...found].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([dependency, kind]) => ({ name: dependency, kind })),
    },
  };
}

/** The distribution name at the start of a PEP 508 requirement (`Flask[async]>=2; python_version>"3.8"`). */
export function requirementName(spec: string): string | undefined {
  return /^\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)/.exec(spec)?.[1];
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

function rank(kind: EdgeKind): number {
  return kind === 'required' ? 3 : kind === 'optional' ? 2 : 1;
}
