import path from 'node:path';
import { normalizePythonName, pythonCommands, readPythonProject, type PythonProject } from './python-deps.js';
import { fileIn, readIn, type Scope } from './read.js';
import { fixedPortNote, healthRoute, portUse } from './source-scan.js';
import type { DetectedService, Evidence } from './types.js';

type ServiceDraft = Omit<DetectedService, 'name'>;

/** Where an app object lives: `app/main.py` defining `app = FastAPI()` is `app.main:app`. */
export interface PythonApp {
  file: string;
  /** `module:variable`, or `module:factory()` for an app factory. */
  target: string;
  /** Folder to import from when the module sits under src/ (`src`), else undefined. */
  appDir?: string;
  text: string;
}

const APP_FILES = [
  'main.py',
  'app.py',
  'api.py',
  'server.py',
  'application.py',
  'asgi.py',
  'wsgi.py',
  'app/main.py',
  'app/__init__.py',
  'app/app.py',
  'app/api.py',
  'app/server.py',
  'src/main.py',
  'src/app.py',
  'src/app/main.py',
  'api/main.py',
];

/** Module path of a file relative to the import root: `app/__init__.py` -> `app`. */
export function pythonModule(file: string): string {
  return file
    .replace(/\.py$/, '')
    .replace(/\/__init__$/, '')
    .split('/')
    .join('.');
}

/** Finds the file that creates the app object of `classes` (e.g. FastAPI) and how to import it. */
export async function findPythonApp(scope: Scope, classes: string[], factory?: string): Promise<PythonApp | undefined> {
  const topLevel = (await scope.tree.list(scope.dir))
    .filter((entry) => entry.kind === 'file' && entry.name.endsWith('.py'))
    .map((entry) => entry.name);
  const candidates = [...new Set([...APP_FILES, ...topLevel])];
  const assignment = new RegExp(`^(\\w+)\\s*(?::[^=\\n]+)?=\\s*(?:\\w+\\.)?(?:${classes.join('|')})\\(`, 'm');
  const factoryDef = factory ? new RegExp(`^def\\s+(${factory})\\s*\\(`, 'm') : undefined;
  for (const file of candidates) {
    const text = await readIn(scope, file, 256 * 1024);
    if (text === undefined) continue;
    const variable = assignment.exec(text)?.[1];
    const factoryName = factoryDef?.exec(text)?.[1];
    if (!variable && !factoryName) continue;
    const inSrc = file.startsWith('src/');
    const module = pythonModule(inSrc ? file.slice('src/'.length) : file);
    const target = variable ? `${module}:${variable}` : `${module}:${factoryName}()`;
    return { file, target, ...(inSrc ? { appDir: 'src' } : {}), text };
  }
  return undefined;
}

function depEvidence(project: PythonProject, name: string): Evidence | undefined {
  const file = project.dependencies.get(normalizePythonName(name));
  return file ? { file, reason: `dependency "${name}"` } : undefined;
}

function uvicorn(target: string, appDir?: string): string {
  return `uvicorn ${target} --host 0.0.0.0 --port $PORT${appDir ? ` --app-dir ${appDir}` : ''}`;
}

function gunicorn(target: string, appDir?: string): string {
  const quoted = target.includes('(') ? `'${target}'` : target;
  return `gunicorn ${quoted} --bind 0.0.0.0:$PORT${appDir ? ` --chdir ${appDir}` : ''}`;
}

/** Django's project package: from manage.py's DJANGO_SETTINGS_MODULE, else the folder with wsgi.py. */
async function djangoProject(scope: Scope): Promise<{ module: string; evidence: Evidence; settings?: string } | undefined> {
  const manage = await readIn(scope, 'manage.py');
  const settingsModule = manage && /DJANGO_SETTINGS_MODULE["']\s*,\s*["']([\w.]+)["']/.exec(manage)?.[1];
  if (settingsModule) {
    const module = settingsModule.replace(/\.settings(?:\..*)?$/, '');
    const settingsPath = settingsModule.split('.').join('/');
    const settings = (await readIn(scope, `${settingsPath}.py`)) ?? (await readIn(scope, `${settingsPath}/__init__.py`));
    return {
      module,
      evidence: { file: fileIn(scope, 'manage.py'), reason: `DJANGO_SETTINGS_MODULE "${settingsModule}"` },
      ...(settings !== undefined ? { settings } : {}),
    };
  }
  for (const entry of await scope.tree.list(scope.dir)) {
    if (entry.kind !== 'dir') continue;
    if (!(await scope.tree.isFile(fileIn(scope, `${entry.name}/wsgi.py`)))) continue;
    const settings = await readIn(scope, `${entry.name}/settings.py`);
    return {
      module: entry.name,
      evidence: { file: fileIn(scope, `${entry.name}/wsgi.py`), reason: 'WSGI module' },
      ...(settings !== undefined ? { settings } : {}),
    };
  }
  return undefined;
}

const PLAIN_ENTRIES = ['main.py', 'app.py', 'server.py', 'run.py', 'bot.py'];

/**
 * Detects a Python web app. `hint` is set when Python was clearly meant (a requirements file)
 * but nothing said how to run it, for the caller to report if nothing else places the folder.
 */
export async function detectPython(scope: Scope): Promise<{ service?: ServiceDraft; hint?: string } | undefined> {
  const project = await readPythonProject(scope);
  if (!project) return undefined;
  const commands = pythonCommands(project);
  const run = commands.run;
  const has = (name: string): boolean => project.dependencies.has(name);
  const evidence: Evidence[] = [];
  const notes: string[] = [];
  const finish = (
    framework: string,
    fields: { start: string; build?: string; port?: number | '$PORT'; health?: string },
  ): { service: ServiceDraft } => ({
    service: {
      path: scope.dir,
      runtime: 'python',
      framework,
      packageManager: project.manager,
      packageManagerEvidence: project.managerEvidence,
      ...(commands.install ? { install: commands.install } : {}),
      ...(fields.build ? { build: fields.build } : {}),
      start: fields.start,
      port: fields.port ?? '$PORT',
      ...(fields.health ? { health: fields.health } : {}),
      env: { PYTHONUNBUFFERED: '1' },
      evidence: [...evidence, project.managerEvidence],
      notes,
    },
  });
  const needServer = (server: string): void => {
    if (!has(server)) notes.push(`add ${server} to your dependencies: the start command runs it`);
  };

  const manage = await readIn(scope, 'manage.py', 64 * 1024);
  if (has('django') || (manage !== undefined && /django/i.test(manage))) {
    const project_ = await djangoProject(scope);
    evidence.push(depEvidence(project, 'django') ?? { file: fileIn(scope, 'manage.py'), reason: 'Django manage.py' });
    if (!project_) {
      return { hint: `${fileIn(scope, 'manage.py')} does not name DJANGO_SETTINGS_MODULE and no folder holds wsgi.py; Maestro could not find the Django project` };
    }
    evidence.push(project_.evidence);
    const build = project_.settings && /\bSTATIC_ROOT\b/.test(project_.settings) ? `${run}python manage.py collectstatic --noinput` : undefined;
    notes.push(`add the service's host name to ALLOWED_HOSTS in the Django settings`);
    if (has('gunicorn')) return finish('Django', { build, start: `${run}${gunicorn(`${project_.module}.wsgi`)}` });
    if (has('uvicorn')) return finish('Django', { build, start: `${run}${uvicorn(`${project_.module}.asgi:application`)}` });
    notes.push(`add gunicorn to your dependencies and start with: gunicorn ${project_.module}.wsgi --bind 0.0.0.0:$PORT (runserver is for development)`);
    return finish('Django', { build, start: `${run}python manage.py runserver 0.0.0.0:$PORT --noreload` });
  }

  const asgi: Array<[string, string, string[]]> = [
    ['fastapi', 'FastAPI', ['FastAPI']],
    ['starlette', 'Starlette', ['Starlette']],
    ['litestar', 'Litestar', ['Litestar']],
  ];
  for (const [dependency, framework, classes] of asgi) {
    if (!has(dependency)) continue;
    evidence.push(depEvidence(project, dependency)!);
    const app = await findPythonApp(scope, classes);
    if (app) evidence.push({ file: fileIn(scope, app.file), reason: `app object ${app.target}` });
    else notes.push(`no file creating ${classes[0]}() was found; Maestro assumed main:app`);
    needServer('uvicorn');
    return finish(framework, {
      start: `${run}${uvicorn(app?.target ?? 'main:app', app?.appDir)}`,
      health: app ? healthRoute([app.text]) : undefined,
    });
  }

  if (has('flask')) {
    evidence.push(depEvidence(project, 'flask')!);
    const app = await findPythonApp(scope, ['Flask'], 'create_app');
    if (app) evidence.push({ file: fileIn(scope, app.file), reason: `app object ${app.target}` });
    else notes.push('no file creating Flask() was found; Maestro assumed app:app');
    const target = app?.target ?? 'app:app';
    const health = app ? healthRoute([app.text]) : undefined;
    if (has('gunicorn')) return finish('Flask', { start: `${run}${gunicorn(target, app?.appDir)}`, health });
    notes.push(`add gunicorn to your dependencies for production; the start command uses Flask's development server`);
    const flaskApp = target.replace(/:.*$/, '');
    return finish('Flask', {
      start: `${run}flask --app ${flaskApp} run --host 0.0.0.0 --port $PORT`,
      health,
    });
  }

  if (has('streamlit')) {
    evidence.push(depEvidence(project, 'streamlit')!);
    const entries = ['streamlit_app.py', 'app.py', 'main.py', 'Home.py'];
    let entry = entries[0]!;
    for (const candidate of entries) if (await scope.tree.isFile(fileIn(scope, candidate))) { entry = candidate; break; }
    return finish('Streamlit', {
      start: `${run}streamlit run ${entry} --server.port $PORT --server.address 0.0.0.0 --server.headless true`,
      health: '/_stcore/health',
    });
  }

  for (const entry of PLAIN_ENTRIES) {
    const text = await readIn(scope, entry, 256 * 1024);
    if (text === undefined) continue;
    evidence.push({ file: fileIn(scope, entry), reason: 'entry script' });
    const use = portUse([text]);
    let port: number | '$PORT' = '$PORT';
    if (use.kind === 'fixed') {
      port = use.port;
      notes.push(fixedPortNote(fileIn(scope, entry), use.port));
    } else if (use.kind === 'unknown') {
      notes.push(`could not see where ${fileIn(scope, entry)} picks its port; make sure it listens on the PORT environment variable`);
    }
    return finish('Python', { start: `${run}python ${path.posix.basename(entry)}`, port, health: healthRoute([text]) });
  }
  return {
    hint: `${project.managerEvidence.file} declares a Python project but no web framework (Django, FastAPI, Flask) or entry script (main.py, app.py) was found`,
  };
}
