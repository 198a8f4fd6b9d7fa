import type { Queryable } from '../db.js';
import { newId } from '../ids.js';
import { compact, num, opt } from '../rows.js';
import { checkOneOf, checkText } from '../validate.js';

export const SESSION_METHODS = ['password', 'oidc'] as const;
export type SessionMethod = (typeof SESSION_METHODS)[number];

/** A console login. Its cookie's secret and its CSRF token are known only by their hashes. */
export interface Session {
  id: string;
  userId: string;
  method: SessionMethod;
  createdAt: Date;
  expiresAt: Date;
  lastSeenAt: Date;
  address?: string;
  userAgent?: string;
}

interface SessionRow {
  id: string;
  user_id: string;
  method: SessionMethod;
  created_at: Date;
  expires_at: Date;
  last_seen_at: Date;
  address: string | null;
  user_agent: string | null;
  csrf_hash: string;
}

// The cookie's hash is what finds a session, never what a lookup returns.
const COLUMNS = 'id, user_id, method, created_at, expires_at, last_seen_at, address, user_agent, csrf_hash';

const toSession = (row: SessionRow): Session =>
  compact({
    id: row.id,
    userId: row.user_id,
    method: row.method,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    lastSeenAt: row.last_seen_at,
    address: opt(row.address),
    userAgent: opt(row.user_agent),
  });

export interface SessionsRepository {
  create(input: {
    hash: string;
    userId: string;
    csrfHash: string;
    method: SessionMethod;
    expiresAt: Date;
    address?: string;
    userAgent?: string;
  }): Promise<Session>;
  /** The unrevoked session with this hash, with its CSRF token's hash. Expiry is the caller's to judge. */
  findByHash(hash: string): Promise<{ session: Session; csrfHash: string } | undefined>;
  /** The user's unrevoked, unexpired sessions, newest first. */
  forUser(userId: string, now?: Date): Promise<Session[]>;
  /** Records activity (for idle expiry). */
  touch(id: string, at?: Date): Promise<void>;
  revoke(id: string): Promise<boolean>;
  /** Ends every session of the user (disabled, removed, or their password changed). */
  revokeForUser(userId: string): Promise<number>;
  /** Forgets sessions that ended before `before`; returns how many. */
  prune(before: Date): Promise<number>;
}

export function sessionsRepository(q: Queryable): SessionsRepository {
  return {
    async create({ hash, userId, csrfHash, method, expiresAt, address, userAgent }) {
      checkText('hash', hash);
      checkText('csrfHash', csrfHash);
      checkOneOf('method', method, SESSION_METHODS);
      const rows = await q.query<SessionRow>(
        `INSERT INTO sessions (id, hash, user_id, csrf_hash, method, expires_at, address, user_agent)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ${COLUMNS}`,
        [newId('ses'), hash, userId, csrfHash, method, expiresAt, address ?? null, userAgent?.slice(0, 500) ?? null],
      );
      return toSession(rows[0]!);
    },

    async findByHash(hash) {
      const rows = await q.query<SessionRow>(`SELECT ${COLUMNS} FROM sessions WHERE hash = $1 AND revoked_at IS NULL`, [hash]);
      const row = rows[0];
      return row && { session: toSession(row), csrfHash: row.csrf_hash };
    },

    async forUser(userId, now = new Date()) {
      const rows = await q.query<SessionRow>(
        `SELECT ${COLUMNS} FROM sessions WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2 ORDER BY created_at DESC`,
        [userId, now],
      );
      return rows.map(toSession);
    },

    async touch(id, at = new Date()) {
      await q.query('UPDATE sessions SET last_seen_at = GREATEST(last_seen_at, $2) WHERE id = $1', [id, at]);
    },

    async revoke(id) {
      const rows = await q.query('UPDATE sessions SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL RETURNING id', [id]);
      return rows.length > 0;
    },

    async revokeForUser(userId) {
      const rows = await q.query('UPDATE sessions SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL RETURNING id', [userId]);
      return rows.length;
    },

    async prune(before) {
      const rows = await q.query<{ count: string | number }>(
        `WITH gone AS (DELETE FROM sessions WHERE expires_at < $1 OR revoked_at < $1 RETURNING id) SELECT count(*) AS count FROM gone`,
        [before],
      );
      return num(rows[0]!.count);
    },
  };
}
