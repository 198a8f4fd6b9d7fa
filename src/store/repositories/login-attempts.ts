import type { Queryable } from '../db.js';
import { num, opt } from '../rows.js';
import { checkText } from '../validate.js';

/** The reason of an attempt refused before its password was checked: recorded, never counted, so waiting out a throttle ends it. */
export const THROTTLED = 'throttled';

/** Failed logins since a time, and when the latest was: what throttling decides from. */
export interface FailureCount {
  count: number;
  last?: Date;
}

export interface LoginAttemptsRepository {
  /** Every attempt is recorded; `reason` says why a failure failed (never the password). */
  record(input: { email: string; address: string; succeeded: boolean; reason?: string; at?: Date }): Promise<void>;
  /**
   * Failures since `since` for the account (since its latest successful login, if later) and for the
   * address (across accounts); attempts refused as `THROTTLED` do not count.
   */
  failures(input: { email: string; address: string; since: Date }): Promise<{ account: FailureCount; address: FailureCount }>;
  /** The account's recent attempts, newest first. */
  recent(email: string, limit?: number): Promise<Array<{ address: string; succeeded: boolean; reason?: string; at: Date }>>;
  /** Forgets attempts older than `before`; returns how many. */
  prune(before: Date): Promise<number>;
}

interface CountRow {
  count: string | number;
  last: Date | null;
}

const toCount = (row: CountRow | undefined): FailureCount => {
  const last = opt(row?.last);
  return { count: num(row?.count ?? 0), ...(last ? { last } : {}) };
};

export function loginAttemptsRepository(q: Queryable): LoginAttemptsRepository {
  return {
    async record({ email, address, succeeded, reason, at }) {
      checkText('email', email);
      checkText('address', address);
      await q.query('INSERT INTO login_attempts (email, address, succeeded, reason, at) VALUES ($1, $2, $3, $4, COALESCE($5, clock_timestamp()))', [
        email.toLowerCase(),
        address,
        succeeded,
        reason ?? null,
        at ?? null,
      ]);
    },

    async failures({ email, address, since }) {
      const account = await q.query<CountRow>(
        `SELECT count(*) AS count, max(at) AS last FROM login_attempts
         WHERE email = $1 AND NOT succeeded AND reason IS DISTINCT FROM '${THROTTLED}'
           AND at > GREATEST($2, COALESCE((SELECT max(at) FROM login_attempts WHERE email = $1 AND succeeded), $2))`,
        [email.toLowerCase(), since],
      );
      const byAddress = await q.query<CountRow>(
        `SELECT count(*) AS count, max(at) AS last FROM login_attempts
         WHERE address = $1 AND NOT succeeded AND reason IS DISTINCT FROM '${THROTTLED}' AND at > $2`,
        [address, since],
      );
      return { account: toCount(account[0]), address: toCount(byAddress[0]) };
    },

    async recent(email, limit = 20) {
      const rows = await q.query<{ address: string; succeeded: boolean; reason: string | null; at: Date }>(
        'SELECT address, succeeded, reason, at FROM login_attempts WHERE email = $1 ORDER BY at DESC, id DESC LIMIT $2',
        [email.toLowerCase(), limit],
      );
      return rows.map((row) => ({ address: row.address, succeeded: row.succeeded, ...(row.reason ? { reason: row.reason } : {}), at: row.at }));
    },

    async prune(before) {
      const rows = await q.query<{ count: string | number }>(
        'WITH gone AS (DELETE FROM login_attempts WHERE at < $1 RETURNING id) SELECT count(*) AS count FROM gone',
        [before],
      );
      return num(rows[0]!.count);
    },
  };
}
