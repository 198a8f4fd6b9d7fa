import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { randomBytes } from 'node:crypto';
import { MaestroError, errorMessage } from '../common/index.js';
import { validateRouteTable, type RouteTable } from './route-table.js';

/** The last accepted table, or undefined when the router has never been given one. */
export async function loadStateFile(path: string): Promise<RouteTable | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new MaestroError('internal', `Cannot read the router state file ${path}: ${errorMessage(error)}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new MaestroError('validation_error', `The router state file ${path} is not valid JSON (${errorMessage(error)}); delete it and push the routes again.`);
  }
  return validateRouteTable(parsed);
}

/**
 * Write the table so that a crash at any point leaves either the old file or the new one: write a temporary
 * file next to it, flush it to disk, then rename over the old one (atomic on POSIX file systems).
 */
export async function writeStateFile(path: string, table: RouteTable): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    const handle = await open(temporary, 'w', 0o600);
    try {
      await handle.writeFile(`${JSON.stringify(table, null, 2)}\n`, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw new MaestroError('internal', `Cannot save the route table to ${path}: ${errorMessage(error)}`);
  }
}
