import pg from 'pg';
import { MaestroError, errorMessage } from '../common/index.js';
import { translateDbError } from './db-errors.js';
import type { Db, Queryable } from './db.js';

/** A Postgres server through a `pg` Pool: several control planes may share it. */
export async function openPostgresDb(databaseUrl: string): Promise<Db> {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 10 });
  // An idle client whose server went away emits 'error' on the pool; without a listener that would
  // crash the process. The next query fails with the real reason instead.
  pool.on('error', () => {});
  try {
    const client = await pool.connect();
    client.release();
  } catch (error) {
    await pool.end().catch(() => {});
    throw new MaestroError(
      'unavailable',
      `cannot connect to the database at ${redactUrl(databaseUrl)}: ${errorMessage(error)}. Check that the server runs and the URL is right.`,
    );
  }
  return {
    kind: 'postgres',
    ...queryable(pool),
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      let broken: Error | undefined;
      try {
        await client.query('BEGIN');
        const result = await fn(queryable(client));
        await client.query('COMMIT');
        return result;
      } catch (error) {
        try {
          await client.query('ROLLBACK');
        } catch (rollbackError) {
          // The connection is unusable; destroy it rather than hand it back to the pool.
          broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
        }
        throw translateDbError(error);
      } finally {
        client.release(broken);
      }
    },
    async close(): Promise<void> {
      await pool.end();
    },
  };
}

function queryable(target: pg.Pool | pg.PoolClient): Queryable {
  return {
    async query<R>(sql: string, params: readonly unknown[] = []): Promise<R[]> {
      try {
        const result = await target.query(sql, [...params]);
        return result.rows as R[];
      } catch (error) {
        throw translateDbError(error);
      }
    },
    async exec(sql: string): Promise<void> {
      try {
        // Without parameters pg uses the simple protocol, which accepts several statements.
        await target.query(sql);
      } catch (error) {
        throw translateDbError(error);
      }
    },
  };
}

/** The URL without its password, for messages. */
export function redactUrl(databaseUrl: string): string {
  try {
    const url = new URL(databaseUrl);
    if (url.password) url.password = '***';
    // pg also reads a password from the query string.
    for (const key of ['password', 'sslpassword', 'sslkey']) if (url.searchParams.has(key)) url.searchParams.set(key, '***');
    return url.toString();
  } catch {
    return 'the configured URL (unparseable)';
  }
}
