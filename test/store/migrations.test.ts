import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/store/db.js';
import { migrate } from '../../src/store/migrate.js';
import { openPgliteDb } from '../../src/store/pglite-db.js';
import { openPostgresDb } from '../../src/store/postgres-db.js';
import { MIGRATIONS } from '../../src/store/schema.js';
import { drivers, type TestDatabase } from './harness.js';

for (const driver of drivers) {
  describe.skipIf(!driver.enabled)(`migrations on ${driver.name}`, () => {
    let database: TestDatabase;
    // One database handle for the file: PGlite files must never be open twice at once.
    let db: Db;

    beforeAll(async () => {
      database = await driver.create();
      const { databaseUrl, dataDir } = database.options;
      db = databaseUrl ? await openPostgresDb(databaseUrl) : await openPgliteDb(join(dataDir, 'db'));
    });

    afterAll(async () => {
      await db?.close();
      await database?.cleanup();
    });

    it('applies every migration once; running again is a no-op', async () => {
      expect(await migrate(db)).toEqual(MIGRATIONS.map((m) => m.version));
      expect(await migrate(db)).toEqual([]);
      const rows = await db.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
      expect(rows.map((r) => Number(r.version))).toEqual(MIGRATIONS.map((m) => m.version));
    });

    it('applies only the new ones, in order, and rolls a failing one back whole', async () => {
      const next = MIGRATIONS.at(-1)!.version + 1;
      const extra = [
        ...MIGRATIONS,
        { version: next, name: 'add notes', sql: 'CREATE TABLE notes (id text PRIMARY KEY); INSERT INTO notes VALUES ($$n1$$);' },
        { version: next + 1, name: 'broken', sql: 'CREATE TABLE broken_half (id text); SELECT no_such_function();' },
      ];
      await expect(migrate(db, extra)).rejects.toThrow(/no_such_function/);
      // One transaction: the good migration before the broken one was not kept either.
      expect(await migrate(db, extra.slice(0, -1))).toEqual([next]);
      expect(await db.query('SELECT id FROM notes')).toEqual([{ id: 'n1' }]);
      await expect(db.query('SELECT * FROM broken_half')).rejects.toThrow(/broken_half/);
    });

    it('refuses a database migrated by a newer Maestro, saying so', async () => {
      await db.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [999, 'from the future']);
      await expect(migrate(db)).rejects.toThrow(/schema is at version 999, newer than this Maestro knows/);
      await db.query('DELETE FROM schema_migrations WHERE version = $1', [999]);
    });

    it.skipIf(driver.name !== 'postgres')('lets two control planes start at once: one migrates, the other waits', async () => {
      // A fresh schema, so both really race to migrate it.
      const fresh = await driver.create();
      try {
        const [a, b] = [await openPostgresDb(fresh.options.databaseUrl!), await openPostgresDb(fresh.options.databaseUrl!)];
        try {
          const results = await Promise.all([migrate(a), migrate(b)]);
          expect(results.map((r) => r.length).sort()).toEqual([0, MIGRATIONS.length]);
        } finally {
          await a.close();
          await b.close();
        }
      } finally {
        await fresh.cleanup();
      }
    });
  });
}
