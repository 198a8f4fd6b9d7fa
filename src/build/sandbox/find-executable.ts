/** Where a program is on a search path, as the shell would find it; undefined when it is not there. */
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { join } from 'node:path';

export async function findExecutable(name: string, searchPath: string = process.env.PATH ?? ''): Promise<string | undefined> {
  for (const dir of searchPath.split(':')) {
    // An empty entry means the current folder to a shell; a server must not pick programs from there.
    if (!dir.startsWith('/')) continue;
    const candidate = join(dir, name);
    try {
      await access(candidate, constants.X_OK);
      if ((await stat(candidate)).isFile()) return candidate;
    } catch {
      // Not here; try the next folder.
    }
  }
  return undefined;
}

const cached = new Map<string, Promise<string | undefined>>();

/** findExecutable on this process's PATH, looked up once per process. */
export function findTool(name: string): Promise<string | undefined> {
  let found = cached.get(name);
  if (!found) {
    found = findExecutable(name);
    cached.set(name, found);
  }
  return found;
}
