import { AsyncLocalStorage } from 'node:async_hooks';
import { MaestroError } from '../common/index.js';
import type { Db } from './db.js';

/**
 * Inside `store.transaction(fn)`, code must use the transaction's store. Using the outer one there
 * would wait forever on PGlite (its transaction holds the only connection) and silently escape the
 * transaction on a server; this wrapper turns both into the same immediate, explained error.
 */
export function guardTransactions(db: Db): Db {
  const current = new AsyncLocalStorage<{ active: boolean }>();
  const check = (): void => {
    if (current.getStore()?.active) {
      throw new MaestroError(
        'internal',
        'the store was used directly inside store.transaction(); use the transaction store passed to the callback there',
      );
    }
  };
  return {
    kind: db.kind,
    async query(sql, params) {
      check();
      return db.query(sql, params);
    },
    async exec(sql) {
      check();
      return db.exec(sql);
    },
    async transaction(fn) {
      check();
      return db.transaction(async (tx) => {
        const state = { active: true };
        try {
          return await current.run(state, () => fn(tx));
        } finally {
          // Work the callback started but did not await may use the store once the transaction is over.
          state.active = false;
        }
      });
    },
    close: () => db.close(),
  };
}
