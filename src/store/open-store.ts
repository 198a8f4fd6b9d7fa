import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { MaestroError, errorMessage, isMaestroError } from '../common/index.js';
import { acquireDataDirLock } from './data-dir-lock.js';
import type { Db } from './db.js';
import { migrate } from './migrate.js';
import { openPgliteDb } from './pglite-db.js';
import { openPostgresDb, redactUrl } from './postgres-db.js';
import { createStore, type Store } from './store.js';

export interface StoreOptions {
  /** Maestro's data directory; the embedded database lives in `<dataDir>/db`. */
  dataDir: string;
  /** A `postgres://` URL to use a Postgres server instead of the embedded database. */
  databaseUrl?: string;
}

/** Opens the store and brings its schema up to date. */
export async function openStore(options: StoreOptions): Promise<Store> {
  const databaseUrl = options.databaseUrl?.trim();
  if (databaseUrl) return openServerStore(databaseUrl);
  return openEmbeddedStore(options.dataDir);
}

async function openServerStore(databaseUrl: string): Promise<Store> {
  if (!/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new MaestroError(
      'validation_error',
      `the database URL must start with postgres:// (got ${redactUrl(databaseUrl)}); leave it unset to use the embedded database`,
    );
  }
  const db = await openPostgresDb(databaseUrl);
  await migrateOrClose(db);
  return createStore(db);
}

async function openEmbeddedStore(dataDir: string): Promise<Store> {
  if (!dataDir) throw new MaestroError('validation_error', 'a data directory is needed for the embedded database');
  const root = resolve(dataDir);
  const directory = join(root, 'db');
  const lock = await acquireDataDirLock(join(root, 'db.lock'), root).catch((error: unknown) => {
    if (isMaestroError(error)) throw error;
    throw new MaestroError('unavailable', `cannot use the data directory ${root}: ${errorMessage(error)}`);
  });
  let db: Db;
  try {
    // PGlite runs Postgres in single-user mode inside this process. A SIGKILLed Maestro leaves its
    // postmaster.pid behind; holding the lock proves no live process uses these files, so the file
    // is stale and is removed rather than left for Postgres to second-guess. Crash recovery itself
    // is Postgres's WAL replay on open: whatever a statement acknowledged is on disk (see pglite-db.ts).
    await rm(join(directory, 'postmaster.pid'), { force: true });
    db = await openPgliteDb(directory);
  } catch (error) {
    await lock.release();
    throw new MaestroError('unavailable', `cannot open the embedded database in ${directory}: ${errorMessage(error)}`);
  }
  await migrateOrClose(db, () => lock.release());
  return createStore(db, () => lock.release());
}

async function migrateOrClose(db: Db, release: () => Promise<void> = async () => {}): Promise<void> {
  try {
    await migrate(db);
  } catch (error) {
    await db.close().catch(() => {});
    await release();
    throw error;
  }
}
