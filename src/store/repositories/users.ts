import { MaestroError } from '../../common/index.js';
import type { Queryable } from '../db.js';
import { newId } from '../ids.js';
import { compact, opt } from '../rows.js';
import { checkText } from '../validate.js';

/** A person. The password hash is not part of it: only `credentials` reads it, for a login. */
export interface User {
  id: string;
  email: string;
  name: string;
  /** False for people who only sign in through SSO. */
  hasPassword: boolean;
  disabledAt?: Date;
  createdAt: Date;
}

interface UserRow {
  id: string;
  email: string;
  name: string;
  has_password: boolean;
  disabled_at: Date | null;
  created_at: Date;
}

// Never `SELECT *`: the password hash stays in the database unless a login asks for it.
const COLUMNS = 'id, email, name, password_hash IS NOT NULL AS has_password, disabled_at, created_at';

const toUser = (row: UserRow): User =>
  compact({ id: row.id, email: row.email, name: row.name, hasPassword: row.has_password, disabledAt: opt(row.disabled_at), createdAt: row.created_at });

/** Loose on purpose (the real check is that mail arrives); it keeps out what cannot be an address at all. */
const EMAIL = /^[^\s@]+@[^\s@]+$/;

export function checkEmail(email: unknown): string {
  if (typeof email !== 'string' || email.length > 254 || !EMAIL.test(email)) {
    throw new MaestroError('validation_error', `${JSON.stringify(String(email).slice(0, 80))} is not an email address: use name@example.com`, { field: 'email' });
  }
  return email;
}

export interface UsersRepository {
  /** `conflict` when someone has this email, in any letter case. */
  create(input: { email: string; name?: string; passwordHash?: string }): Promise<User>;
  get(id: string): Promise<User | undefined>;
  /** Emails compare case-insensitively. */
  findByEmail(email: string): Promise<User | undefined>;
  /** The user with this email and their password hash (undefined when they have none): what a login checks. */
  credentials(email: string): Promise<{ user: User; passwordHash?: string } | undefined>;
  list(): Promise<User[]>;
  /** Sets (or, with undefined, removes) the password; `not_found` when there is no such user. */
  setPassword(id: string, passwordHash: string | undefined): Promise<void>;
  setDisabled(id: string, disabled: boolean): Promise<User>;
  /** Deletes the user with their memberships, sessions, identities and tokens. True when they existed. */
  remove(id: string): Promise<boolean>;
}

export function usersRepository(q: Queryable): UsersRepository {
  const one = async (sql: string, params: unknown[]): Promise<User | undefined> => {
    const rows = await q.query<UserRow>(sql, params);
    return rows[0] && toUser(rows[0]);
  };
  return {
    async create({ email, name, passwordHash }) {
      checkEmail(email);
      if (passwordHash !== undefined) checkText('passwordHash', passwordHash);
      const rows = await q.query<UserRow>(
        `INSERT INTO users (id, email, name, password_hash) VALUES ($1, $2, $3, $4)
         ON CONFLICT ((lower(email))) DO NOTHING RETURNING ${COLUMNS}`,
        [newId('usr'), email, name ?? '', passwordHash ?? null],
      );
      if (!rows[0]) throw new MaestroError('conflict', `a user with email ${email} already exists`, { email });
      return toUser(rows[0]);
    },

    get: (id) => one(`SELECT ${COLUMNS} FROM users WHERE id = $1`, [id]),

    findByEmail: (email) => one(`SELECT ${COLUMNS} FROM users WHERE lower(email) = lower($1)`, [email]),

    async credentials(email) {
      const rows = await q.query<UserRow & { password_hash: string | null }>(
        `SELECT ${COLUMNS}, password_hash FROM users WHERE lower(email) = lower($1)`,
        [email],
      );
      const row = rows[0];
      if (!row) return undefined;
      return { user: toUser(row), ...(row.password_hash ? { passwordHash: row.password_hash } : {}) };
    },

    async list() {
      const rows = await q.query<UserRow>(`SELECT ${COLUMNS} FROM users ORDER BY lower(email)`);
      return rows.map(toUser);
    },

    async setPassword(id, passwordHash) {
      if (passwordHash !== undefined) checkText('passwordHash', passwordHash);
      const rows = await q.query('UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1 RETURNING id', [id, passwordHash ?? null]);
      if (rows.length === 0) throw new MaestroError('not_found', `no user ${id}`);
    },

    async setDisabled(id, disabled) {
      const user = await one(
        `UPDATE users SET disabled_at = CASE WHEN $2 THEN COALESCE(disabled_at, now()) ELSE NULL END, updated_at = now()
         WHERE id = $1 RETURNING ${COLUMNS}`,
        [id, disabled],
      );
      if (!user) throw new MaestroError('not_found', `no user ${id}`);
      return user;
    },

    async remove(id) {
      const rows = await q.query('DELETE FROM users WHERE id = $1 RETURNING id', [id]);
      return rows.length > 0;
    },
  };
}
