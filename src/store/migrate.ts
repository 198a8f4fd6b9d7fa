import { MaestroError } from '../common/index.js';
import type { Db } from './db.js';
import { MIGRATIONS, type Migration } from './schema.js';

// Any fixed number works, as long as nothing else in the database uses it: two control planes
// starting against one server wait for each other here instead of both migrating.
const MIGRATION_LOCK_KEY = 7_261_637_374;

/** Applies the migrations not yet recorded in schema_migrations, all in one transaction; returns their versions. */
export async function migrate(db: Db, migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
  checkOrder(migrations);
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
    await tx.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY,
      name text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const rows = await tx.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
    const applied = new Set(rows.map((row) => Number(row.version)));
    const newest = Math.max(0, ...applied);
    const known = migrations.at(-1)?.version ?? 0;
    if (newest > known) {
      throw new MaestroError(
        'conflict',
        `the database schema is at version ${newest}, newer than this Maestro knows (${known}); run the newer Maestro that upgraded it`,
      );
    }
    const done: number[] = [];
    for (const migration of migrations) {
      if (applied.has(migration.version)) continue;
      await tx.exec(migration.sql);
      await tx.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name]);
      done.push(migration.version);
    }
    return done;
  });
}

function checkOrder(migrations: readonly Migration[]): void {
  migrations.forEach((migration, index) => {
    const previous = migrations[index - 1];
    if (previous && migration.version <= previous.version) {
      throw new MaestroError('internal', `migration ${migration.version} is listed after ${previous.version}; versions must increase`);
    }
  });
}
