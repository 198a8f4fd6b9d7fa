import type { Queryable } from '../db.js';
import { newId } from '../ids.js';
import { compact, opt } from '../rows.js';
import { DEFAULT_ORGANISATION_ID } from '../schema-identity.js';
import type { Token } from '../types.js';
import { MaestroError } from '../../common/index.js';
import { LEGACY_ROLES, ROLES } from '../../identity/permissions.js';
import { checkOneOf, checkText } from '../validate.js';

/** A token that acts as the person who made it: their roles, wherever they hold them, as they are now. */
export const PERSONAL_TOKEN_ROLE = 'personal';
const TOKEN_ROLES = [...ROLES, ...Object.keys(LEGACY_ROLES), PERSONAL_TOKEN_ROLE];

interface TokenRow {
  id: string;
  name: string;
  role: string;
  organisation_id: string;
  project_id: string | null;
  project_name: string | null;
  user_id: string | null;
  user_email: string | null;
  created_by: string | null;
  expires_at: Date | null;
  created_at: Date;
  last_used_at: Date | null;
}

// Never `SELECT *`: the hash stays in the database.
const SELECT = `SELECT t.id, t.name, t.role, t.organisation_id, t.project_id, p.name AS project_name, t.user_id, u.email AS user_email,
    t.created_by, t.expires_at, t.created_at, t.last_used_at
  FROM tokens t LEFT JOIN projects p ON p.id = t.project_id LEFT JOIN users u ON u.id = t.user_id`;

const toToken = (row: TokenRow): Token =>
  compact({
    id: row.id,
    name: row.name,
    role: row.role,
    organisationId: row.organisation_id,
    projectId: opt(row.project_id),
    projectName: opt(row.project_name),
    userId: opt(row.user_id),
    userEmail: opt(row.user_email),
    createdBy: opt(row.created_by),
    expiresAt: opt(row.expires_at),
    createdAt: row.created_at,
    lastUsedAt: opt(row.last_used_at),
  });

export interface NewToken {
  name: string;
  hash: string;
  /** owner, admin, developer, viewer, personal (or the legacy cache-reader). */
  role: string;
  expiresAt?: Date;
  /** The default organisation when absent. */
  organisationId?: string;
  /** Only this project; the whole organisation when absent. */
  projectId?: string;
  /** The person who made it: it never does more than they may, and goes with them. */
  userId?: string;
  /** Who made it, in words (a user's email or a token's name), for listings. */
  createdBy?: string;
}

export interface TokensRepository {
  /** Stores a token by the hash of its secret; `conflict` when an unrevoked token of the organisation has this name. */
  create(input: NewToken): Promise<Token>;
  /** The unrevoked token with this hash. Expiry is the caller's to judge (so it can say "expired"). */
  findByHash(hash: string): Promise<Token | undefined>;
  /** Unrevoked tokens, by name: all of them, an organisation's, or one user's. */
  list(filter?: { organisationId?: string; userId?: string }): Promise<Token[]>;
  /** The unrevoked token with this name in the organisation (the default one when absent). */
  findByName(name: string, organisationId?: string): Promise<Token | undefined>;
  /** True when an unrevoked token had this name in the organisation (the default one when absent). */
  revoke(name: string, organisationId?: string): Promise<boolean>;
  /** Revokes every token the user made; returns how many. */
  revokeForUser(userId: string): Promise<number>;
  /** Records a use, for "last used" in listings. */
  touch(id: string): Promise<void>;
}

export function tokensRepository(q: Queryable): TokensRepository {
  return {
    async create({ name, hash, role, expiresAt, organisationId, projectId, userId, createdBy }) {
      checkText('name', name);
      checkText('hash', hash);
      checkOneOf('role', role, TOKEN_ROLES);
      if (role === PERSONAL_TOKEN_ROLE && (!userId || projectId)) {
        throw new MaestroError('validation_error', 'a personal token belongs to a person and acts across the organisation: give it a userId and no project', { field: 'role' });
      }
      const id = newId('tok');
      await q.query(
        `INSERT INTO tokens (id, name, hash, role, expires_at, organisation_id, project_id, user_id, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
        [id, name, hash, role, expiresAt ?? null, organisationId ?? DEFAULT_ORGANISATION_ID, projectId ?? null, userId ?? null, createdBy ?? null],
      );
      const rows = await q.query<TokenRow>(`${SELECT} WHERE t.id = $1`, [id]);
      return toToken(rows[0]!);
    },

    async findByHash(hash) {
      const rows = await q.query<TokenRow>(`${SELECT} WHERE t.hash = $1 AND t.revoked_at IS NULL`, [hash]);
      return rows[0] && toToken(rows[0]);
    },

    async list(filter = {}) {
      const rows = await q.query<TokenRow>(
        `${SELECT} WHERE t.revoked_at IS NULL AND ($1::text IS NULL OR t.organisation_id = $1) AND ($2::text IS NULL OR t.user_id = $2)
         ORDER BY t.name`,
        [filter.organisationId ?? null, filter.userId ?? null],
      );
      return rows.map(toToken);
    },

    async findByName(name, organisationId = DEFAULT_ORGANISATION_ID) {
      const rows = await q.query<TokenRow>(`${SELECT} WHERE t.name = $1 AND t.organisation_id = $2 AND t.revoked_at IS NULL`, [name, organisationId]);
      return rows[0] && toToken(rows[0]);
    },

    async revoke(name, organisationId = DEFAULT_ORGANISATION_ID) {
      const rows = await q.query(
        'UPDATE tokens SET revoked_at = now() WHERE name = $1 AND organisation_id = $2 AND revoked_at IS NULL RETURNING id',
        [name, organisationId],
      );
      return rows.length > 0;
    },

    async revokeForUser(userId) {
      const rows = await q.query('UPDATE tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL RETURNING id', [userId]);
      return rows.length;
    },

    async touch(id) {
      await q.query('UPDATE tokens SET last_used_at = now() WHERE id = $1', [id]);
    },
  };
}
