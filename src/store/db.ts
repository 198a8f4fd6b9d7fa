/**
 * The two drivers (embedded PGlite, a Postgres server through `pg`) behind one small interface, so
 * the repositories are written once. Values always travel as parameters; `exec` is only for the
 * fixed multi-statement migration scripts.
 */
export interface Queryable {
  query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<R[]>;
  /** Runs a parameterless script of several statements. */
  exec(sql: string): Promise<void>;
}

export interface Db extends Queryable {
  readonly kind: 'pglite' | 'postgres';
  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
