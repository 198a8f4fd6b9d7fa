import type { Queryable } from '../db.js';
import { newId } from '../ids.js';
import { compact, opt } from '../rows.js';
import type { Token } from '../types.js';
import { checkText } from '../validate.js';

interface TokenRow {
  id: string;
  name: string;
  role: string;
  expires_at: Date | null;
  created_at: Date;
  last_used_at: Date | null;
}

// Never `SELECT *`: the hash stays in the database.
const COLUMNS = 'id, name, role, expires_at, created_at, last_used_at';

const toToken = (row: TokenRow): Token =>
  compact({
    id: row.id,
    name: row.name,
    role: row.role,
    expiresAt: opt(row.expires_at),
    createdAt: row.created_at,
    lastUsedAt: opt(row.last_used_at),
  });

export interface TokensRepository {
  /** Stores a token by the hash of its secret; `conflict` when an unrevoked token has this name. */
  create(input: { name: string; hash: string; role: string; expiresAt?: Date }): Promise<Token>;
  /** The unrevoked token with this hash. Expiry is the caller's to judge (so it can say "expired"). */
  findByHash(hash: string): Promise<Token | undefined>;
  /** Unrevoked tokens, by name. */
  list(): Promise<Token[]>;
  /** True when an unrevoked token had this name. */
  revoke(name: string): Promise<boolean>;
  /** Records a use, for "last used" in listings. */
  touch(id: string): Promise<void>;
}

export function tokensRepository(q: Queryable): TokensRepository {
  return {
    async create({ name, hash, role, expiresAt }) {
      checkText('name', name);
      checkText('hash', hash);
      checkText('role', role);
      const rows = await q.query<TokenRow>(
        `INSERT INTO tokens (id, name, hash, role, expires_at) VALUES ($1, $2, $3, $4, $5) RETURNING ${COLUMNS}`,
        [newId('tok'), name, hash, role, expiresAt ?? null],
      );
      return toToken(rows[0]!);
    },

    async findByHash(hash) {
      const rows = await q.query<TokenRow>(`SELECT ${COLUMNS} FROM tokens WHERE hash = $1 AND revoked_at IS NULL`, [hash]);
      return rows[0] && toToken(rows[0]);
    },

    async list() {
      const rows = await q.query<TokenRow>(`SELECT ${COLUMNS} FROM tokens WHERE revoked_at IS NULL ORDER BY name`);
      return rows.map(toToken);
    },

    async revoke(name) {
      const rows = await q.query('UPDATE tokens SET revoked_at = now() WHERE name = $1 AND revoked_at IS NULL RETURNING id', [name]);
      return rows.length > 0;
    },

    async touch(id) {
      await q.query('UPDATE tokens SET last_used_at = now() WHERE id = $1', [id]);
    },
  };
}
