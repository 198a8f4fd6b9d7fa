import { PGlite, type Transaction } from '@electric-sql/pglite';
import { translateDbError } from './db-errors.js';
import type { Db, Queryable } from './db.js';

/**
 * The embedded database. PGlite is one single-user Postgres backend in this process: its
 * `transaction()` holds a mutex, so transactions (and the queries around them) run one at a time,
 * which is the serialisation the store promises on this driver.
 */
export async function openPgliteDb(directory: string): Promise<Db> {
  // relaxedDurability stays off: every statement is written through to the files before it resolves,
  // so anything acknowledged survives a SIGKILL of the control plane.
  const pglite = await PGlite.create(directory, { relaxedDurability: false });
  return {
    kind: 'pglite',
    ...queryable(pglite),
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      try {
        return await pglite.transaction((tx) => fn(queryable(tx)));
      } catch (error) {
        throw translateDbError(error);
      }
    },
    async close(): Promise<void> {
      if (!pglite.closed) await pglite.close();
    },
  };
}

function queryable(target: PGlite | Transaction): Queryable {
  return {
    async query<R>(sql: string, params: readonly unknown[] = []): Promise<R[]> {
      try {
        const result = await target.query<R>(sql, [...params]);
        return result.rows;
      } catch (error) {
        throw translateDbError(error);
      }
    },
    async exec(sql: string): Promise<void> {
      try {
        await target.exec(sql);
      } catch (error) {
        throw translateDbError(error);
      }
    },
  };
}
