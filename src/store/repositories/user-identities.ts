import type { Queryable } from '../db.js';
import { compact, opt } from '../rows.js';
import { checkText } from '../validate.js';

/** A person as an OpenID Connect provider knows them: (issuer, subject) never changes, the email may. */
export interface UserIdentity {
  issuer: string;
  subject: string;
  userId: string;
  email?: string;
  createdAt: Date;
  lastLoginAt?: Date;
}

interface IdentityRow {
  issuer: string;
  subject: string;
  user_id: string;
  email: string | null;
  created_at: Date;
  last_login_at: Date | null;
}

const toIdentity = (row: IdentityRow): UserIdentity =>
  compact({
    issuer: row.issuer,
    subject: row.subject,
    userId: row.user_id,
    email: opt(row.email),
    createdAt: row.created_at,
    lastLoginAt: opt(row.last_login_at),
  });

export interface UserIdentitiesRepository {
  /** Links the provider's identity to the user; `conflict` when it belongs to someone else already. */
  link(input: { issuer: string; subject: string; userId: string; email?: string }): Promise<UserIdentity>;
  find(issuer: string, subject: string): Promise<UserIdentity | undefined>;
  forUser(userId: string): Promise<UserIdentity[]>;
  /** Records a login through it, with the email the provider gave this time. */
  touch(issuer: string, subject: string, email?: string): Promise<void>;
  unlink(issuer: string, subject: string): Promise<boolean>;
}

export function userIdentitiesRepository(q: Queryable): UserIdentitiesRepository {
  return {
    async link({ issuer, subject, userId, email }) {
      checkText('issuer', issuer);
      checkText('subject', subject);
      const rows = await q.query<IdentityRow>(
        'INSERT INTO user_identities (issuer, subject, user_id, email) VALUES ($1, $2, $3, $4) RETURNING *',
        [issuer, subject, userId, email ?? null],
      );
      return toIdentity(rows[0]!);
    },

    async find(issuer, subject) {
      const rows = await q.query<IdentityRow>('SELECT * FROM user_identities WHERE issuer = $1 AND subject = $2', [issuer, subject]);
      return rows[0] && toIdentity(rows[0]);
    },

    async forUser(userId) {
      const rows = await q.query<IdentityRow>('SELECT * FROM user_identities WHERE user_id = $1 ORDER BY issuer, subject', [userId]);
      return rows.map(toIdentity);
    },

    async touch(issuer, subject, email) {
      await q.query('UPDATE user_identities SET last_login_at = now(), email = COALESCE($3, email) WHERE issuer = $1 AND subject = $2', [
        issuer,
        subject,
        email ?? null,
      ]);
    },

    async unlink(issuer, subject) {
      const rows = await q.query('DELETE FROM user_identities WHERE issuer = $1 AND subject = $2 RETURNING issuer', [issuer, subject]);
      return rows.length > 0;
    },
  };
}
