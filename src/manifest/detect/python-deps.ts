import { fileIn, fileExists, readIn, type Scope } from './read.js';
import { parseTomlLite, tomlStrings, tomlTable } from './toml-lite.js';
import type { Evidence } from './types.js';

/** PEP 503 normal form, so `Flask`, `flask` and `FLASK` are one name. */
export function normalizePythonName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

export type PythonManager = 'uv' | 'poetry' | 'pipenv' | 'pip';

export interface PythonProject {
  manager: PythonManager;
  managerEvidence: Evidence;
  /** Normal name -> the file that declares it. Extras imply their packages (`fastapi[standard]`). */
  dependencies: Map<string, string>;
  /** The file a plain `pip install` reads, when pip is the manager. */
  pipSource?: 'requirements' | 'project';
  projectName?: string;
  hasLock: boolean;
}

/** `fastapi[standard]>=0.110 ; python_version > "3.8"` -> `fastapi` with extras `standard`. */
export function parseRequirement(line: string): { name: string; extras: string[] } | undefined {
  const match = /^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[([^\]]*)\])?/.exec(line);
  if (!match) return undefined;
  const extras = (match[2] ?? '')
    .split(',')
    .map((extra) => extra.trim())
    .filter(Boolean);
  return { name: normalizePythonName(match[1]!), extras };
}

/** The packages an extra brings that matter for serving (FastAPI's `standard` brings uvicorn). */
function impliedByExtras(name: string, extras: string[]): string[] {
  if (name === 'fastapi' && extras.some((extra) => extra === 'standard' || extra === 'all')) return ['uvicorn'];
  if (name === 'uvicorn') return [];
  return [];
}

function addRequirement(into: Map<string, string>, spec: string, file: string): void {
  const parsed = parseRequirement(spec);
  if (!parsed) return;
  if (!into.has(parsed.name)) into.set(parsed.name, file);
  for (const implied of impliedByExtras(parsed.name, parsed.extras)) if (!into.has(implied)) into.set(implied, file);
}

async function readRequirements(scope: Scope, name: string, into: Map<string, string>, depth = 0): Promise<boolean> {
  const text = await readIn(scope, name);
  if (text === undefined) return false;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/\s+#.*$/, '').trim();
    if (line === '' || line.startsWith('#')) continue;
    const include = /^(?:-r|--requirement)\s*=?\s*(\S+)/.exec(line);
    if (include && depth < 3) {
      const base = name.includes('/') ? name.slice(0, name.lastIndexOf('/') + 1) : '';
      await readRequirements(scope, `${base}${include[1]}`, into, depth + 1);
      continue;
    }
    if (line.startsWith('-')) continue;
    addRequirement(into, line, fileIn(scope, name));
  }
  return true;
}

/** The Python project in `scope.dir`, or undefined when nothing there declares Python dependencies. */
export async function readPythonProject(scope: Scope): Promise<PythonProject | undefined> {
  const dependencies = new Map<string, string>();
  const pyprojectText = await readIn(scope, 'pyproject.toml');
  const pyproject = pyprojectText !== undefined ? parseTomlLite(pyprojectText) : undefined;
  const pyprojectFile = fileIn(scope, 'pyproject.toml');
  const project = pyproject && tomlTable(pyproject, 'project');
  const poetry = pyproject && tomlTable(pyproject, 'tool.poetry');
  if (project) for (const spec of tomlStrings(project.entries.get('dependencies'))) addRequirement(dependencies, spec, pyprojectFile);
  const poetryDeps = pyproject && tomlTable(pyproject, 'tool.poetry.dependencies');
  if (poetryDeps) {
    for (const [name, value] of poetryDeps.entries) {
      if (normalizePythonName(name) === 'python') continue;
      const extras = /extras\s*=\s*\[([^\]]*)\]/.exec(value)?.[1] ?? '';
      addRequirement(dependencies, `${name}[${tomlStrings(`[${extras}]`).join(',')}]`, pyprojectFile);
    }
  }
  const pipfileText = await readIn(scope, 'Pipfile');
  if (pipfileText !== undefined) {
    const packages = tomlTable(parseTomlLite(pipfileText), 'packages');
    for (const name of packages?.entries.keys() ?? []) addRequirement(dependencies, name, fileIn(scope, 'Pipfile'));
  }
  const hasRequirements = await readRequirements(scope, 'requirements.txt', dependencies);

  const projectName = project?.entries.get('name') ?? poetry?.entries.get('name');
  const name = projectName ? tomlStrings(projectName)[0] : undefined;
  const base = { dependencies, ...(name ? { projectName: name } : {}) };

  if (pyproject && (await fileExists(scope, 'uv.lock'))) {
    return { ...base, manager: 'uv', managerEvidence: { file: fileIn(scope, 'uv.lock'), reason: 'lockfile' }, hasLock: true };
  }
  if (await fileExists(scope, 'poetry.lock')) {
    return { ...base, manager: 'poetry', managerEvidence: { file: fileIn(scope, 'poetry.lock'), reason: 'lockfile' }, hasLock: true };
  }
  if (poetry) {
    return { ...base, manager: 'poetry', managerEvidence: { file: pyprojectFile, reason: 'section [tool.poetry]' }, hasLock: false };
  }
  if (pipfileText !== undefined) {
    const hasLock = await fileExists(scope, 'Pipfile.lock');
    return { ...base, manager: 'pipenv', managerEvidence: { file: fileIn(scope, 'Pipfile'), reason: 'Pipfile' }, hasLock };
  }
  if (hasRequirements) {
    return {
      ...base,
      manager: 'pip',
      managerEvidence: { file: fileIn(scope, 'requirements.txt'), reason: 'requirements file' },
      pipSource: 'requirements',
      hasLock: false,
    };
  }
  if (pyproject && tomlTable(pyproject, 'tool.uv')) {
    return { ...base, manager: 'uv', managerEvidence: { file: pyprojectFile, reason: 'section [tool.uv]' }, hasLock: false };
  }
  if (project) {
    return {
      ...base,
      manager: 'pip',
      managerEvidence: { file: pyprojectFile, reason: 'section [project]' },
      pipSource: 'project',
      hasLock: false,
    };
  }
  if (await fileExists(scope, 'manage.py')) {
    return { ...base, manager: 'pip', managerEvidence: { file: fileIn(scope, 'manage.py'), reason: 'Django manage.py' }, hasLock: false };
  }
  return undefined;
}

export interface PythonCommands {
  install?: string;
  /** Prefix that runs a tool inside the project's environment (`poetry run `), or empty. */
  run: string;
}

export function pythonCommands(project: PythonProject): PythonCommands {
  switch (project.manager) {
    case 'uv':
      // --no-sync: the environment was made at install; starting must not reach the network.
      return { install: project.hasLock ? 'uv sync --frozen --no-dev' : 'uv sync --no-dev', run: 'uv run --no-sync ' };
    case 'poetry':
      return { install: 'poetry install --only main --no-root --no-interaction', run: 'poetry run ' };
    case 'pipenv':
      return { install: project.hasLock ? 'pipenv install --deploy' : 'pipenv install', run: 'pipenv run ' };
    case 'pip':
      if (project.pipSource === 'requirements') return { install: 'pip install -r requirements.txt', run: '' };
      if (project.pipSource === 'project') return { install: 'pip install .', run: '' };
      return { run: '' };
  }
}
