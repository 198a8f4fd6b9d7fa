import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { openStore, type Store } from '../../src/store/index.js';

/**
 * The store suites run once per driver: PGlite always, a Postgres server when
 * MAESTRO_TEST_DATABASE_URL is set. Each server run gets its own schema, dropped afterwards, so
 * parallel runs against one server never see each other.
 */
export const serverUrl = process.env.MAESTRO_TEST_DATABASE_URL;

if (!serverUrl) {
  console.warn(
    'store tests: the Postgres server half is skipped. To run it: MAESTRO_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npx vitest run test/store',
  );
}

export interface TestDatabase {
  /** What to pass to openStore. */
  options: { dataDir: string; databaseUrl?: string };
  open(): Promise<Store>;
  cleanup(): Promise<void>;
}

export interface Driver {
  name: 'pglite' | 'postgres';
  enabled: boolean;
  create(): Promise<TestDatabase>;
}

export const drivers: Driver[] = [
  { name: 'pglite', enabled: true, create: createPgliteDatabase },
  { name: 'postgres', enabled: Boolean(serverUrl), create: createServerDatabase },
];

async function createPgliteDatabase(): Promise<TestDatabase> {
  const dataDir = await mkdtemp(join(tmpdir(), 'maestro-store-'));
  const options = { dataDir };
  return {
    options,
    open: () => openStore(options),
    cleanup: () => rm(dataDir, { recursive: true, force: true }),
  };
}

async function createServerDatabase(): Promise<TestDatabase> {
  const dataDir = await mkdtemp(join(tmpdir(), 'maestro-store-'));
  // Random hex only, so the name is safe to put in the statement (identifiers cannot be parameters).
  const schema = `maestro_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  const url = new URL(serverUrl!);
  url.searchParams.set('options', `-c search_path=${schema}`);
  const options = { dataDir, databaseUrl: url.toString() };
  return {
    options,
    open: () => openStore(options),
    async cleanup() {
      await admin.query(`DROP SCHEMA ${schema} CASCADE`);
      await admin.end();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Opens a store on `driver` for the describe block this is called in, hands it over, and closes it afterwards. */
export function useStore(driver: Driver, onOpen: (store: Store) => void): void {
  let database: TestDatabase | undefined;
  let store: Store | undefined;
  beforeAll(async () => {
    database = await driver.create();
    store = await database.open();
    onOpen(store);
  });
  afterAll(async () => {
    await store?.close();
    await database?.cleanup();
  });
}
