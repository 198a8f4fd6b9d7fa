/** Where each project's bare repository lives, and making sure it exists and is set up as Maestro needs. */
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MaestroError } from '../common/index.js';
import { preReceiveHookScript } from './pre-receive-hook.js';
import { gitOutput } from './run-git.js';

// The API checks names as DNS labels already; this is the same rule, kept here because a name that is
// anything else (a slash, "..") would make a path outside the git folder.
const PROJECT_NAME = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

export function checkProjectName(project: string): string {
  if (!PROJECT_NAME.test(project)) {
    throw new MaestroError(
      'validation_error',
      `project name ${JSON.stringify(project)} is not valid: use 1-63 lowercase letters, digits and dashes, starting and ending with a letter or digit`,
    );
  }
  return project;
}

/** `<dataDir>/git/<project>.git`. */
export function gitRepositoryPath(dataDir: string, project: string): string {
  return join(dataDir, 'git', `${checkProjectName(project)}.git`);
}

const CONFIG: ReadonlyArray<[string, string]> = [
  // Pushes over smart HTTP, whatever REMOTE_USER says: Maestro authenticates them itself.
  ['http.receivepack', 'true'],
  // `git push -o no-wait` reaches the hook.
  ['receive.advertisePushOptions', 'true'],
  // HEAD names a branch a push may delete (a preview's); the deploy decides what that means.
  ['receive.denyDeleteCurrent', 'false'],
  ['uploadpack.allowReachableSHA1InWant', 'true'],
  ['core.logAllRefUpdates', 'false'],
];

// `git archive` would obey export-ignore and export-subst from the pushed tree; info/attributes wins
// over the tree's own, so an exported commit is exactly what was pushed.
const ATTRIBUTES = '* -export-ignore -export-subst\n';

const inFlight = new Map<string, Promise<void>>();

/**
 * Creates the bare repository when missing and (re)applies its settings and hook; safe to run again
 * and at the same time for one path (concurrent calls share one run). The hook is rewritten whenever
 * its content differs, so a new Maestro replaces an old hook.
 */
export function ensureBareRepository(path: string): Promise<void> {
  const running = inFlight.get(path);
  if (running) return running;
  const run = setUp(path).finally(() => inFlight.delete(path));
  inFlight.set(path, run);
  return run;
}

async function setUp(path: string): Promise<void> {
  await mkdir(path, { recursive: true });
  await gitOutput(path, ['init', '--quiet', '--bare', '--initial-branch=main']);
  for (const [key, value] of CONFIG) await gitOutput(path, ['config', key, value]);
  await writeIfChanged(join(path, 'info', 'attributes'), ATTRIBUTES, 0o644);
  await writeIfChanged(join(path, 'hooks', 'pre-receive'), preReceiveHookScript(process.execPath), 0o755);
}

async function writeIfChanged(file: string, content: string, mode: number): Promise<void> {
  const current = await readFile(file, 'utf8').catch(() => undefined);
  if (current === content) return;
  await mkdir(join(file, '..'), { recursive: true });
  // A hook half written when git runs it would fail the push: write aside, then rename into place.
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, content, { mode });
  await chmod(temporary, mode);
  await rename(temporary, file);
}
