import type { Queryable } from '../db.js';
import { compact, opt } from '../rows.js';
import { checkText } from '../validate.js';

/** A key the server signs attestations with. The public half only: listings and the API never carry the private one. */
export interface SigningKeyRecord {
  /** sha256 of the DER (SPKI) public key, hex: the key hint in every bundle it signs. */
  id: string;
  algorithm: string;
  /** PEM, SPKI. */
  publicKeyPem: string;
  createdAt: Date;
  /** Set once the key no longer signs; what it signed still verifies against it. */
  retiredAt?: Date;
}

/** What opening the key needs: the private half, sealed under the master key (which is never in the database). */
export interface SigningKeyWithSecret extends SigningKeyRecord {
  privateKeySealed: string;
}

export interface NewSigningKey {
  id: string;
  algorithm: string;
  publicKeyPem: string;
  privateKeySealed: string;
}

export interface SigningKeysRepository {
  /** The key new attestations are signed with, if one was made. */
  active(): Promise<SigningKeyWithSecret | undefined>;
  /**
   * Records the key as the active one unless there already is an active key (the schema allows one;
   * another control plane on the same database may have just made it). True when this key was recorded.
   */
  createActive(input: NewSigningKey): Promise<boolean>;
  /** Every key, active and retired, oldest first. */
  list(): Promise<SigningKeyRecord[]>;
  get(id: string): Promise<SigningKeyRecord | undefined>;
  /** Every key's sealed private half, active and retired: what a master key rotation seals again. */
  listSealed(): Promise<Array<{ id: string; privateKeySealed: string }>>;
  /** The private half sealed under another master key (a rotation, inside its transaction). */
  reseal(id: string, privateKeySealed: string): Promise<void>;
}

interface SigningKeyRow {
  id: string;
  algorithm: string;
  public_key_pem: string;
  private_key_sealed: string;
  created_at: Date;
  retired_at: Date | null;
}

// The sealed private half is selected only by `active()` and, for a master key rotation, `listSealed()`.
const PUBLIC_COLUMNS = 'id, algorithm, public_key_pem, created_at, retired_at';

const toRecord = (row: Omit<SigningKeyRow, 'private_key_sealed'>): SigningKeyRecord =>
  compact({
    id: row.id,
    algorithm: row.algorithm,
    publicKeyPem: row.public_key_pem,
    createdAt: row.created_at,
    retiredAt: opt(row.retired_at),
  });

export function signingKeysRepository(q: Queryable): SigningKeysRepository {
  return {
    async active() {
      const rows = await q.query<SigningKeyRow>(`SELECT ${PUBLIC_COLUMNS}, private_key_sealed FROM signing_keys WHERE retired_at IS NULL`);
      const row = rows[0];
      return row && { ...toRecord(row), privateKeySealed: row.private_key_sealed };
    },

    async createActive(input) {
      checkText('id', input.id);
      checkText('algorithm', input.algorithm);
      checkText('publicKeyPem', input.publicKeyPem);
      checkText('privateKeySealed', input.privateKeySealed);
      // The unique index on active keys turns a lost race into "nothing inserted" rather than a second key.
      const rows = await q.query(
        `INSERT INTO signing_keys (id, algorithm, public_key_pem, private_key_sealed) VALUES ($1, $2, $3, $4)
         ON CONFLICT DO NOTHING RETURNING id`,
        [input.id, input.algorithm, input.publicKeyPem, input.privateKeySealed],
      );
      return rows.length > 0;
    },

    async list() {
      const rows = await q.query<SigningKeyRow>(`SELECT ${PUBLIC_COLUMNS} FROM signing_keys ORDER BY created_at, id`);
      return rows.map(toRecord);
    },

    async get(id) {
      const rows = await q.query<SigningKeyRow>(`SELECT ${PUBLIC_COLUMNS} FROM signing_keys WHERE id = $1`, [id]);
      return rows[0] && toRecord(rows[0]);
    },

    async listSealed() {
      const rows = await q.query<{ id: string; private_key_sealed: string }>(`SELECT id, private_key_sealed FROM signing_keys ORDER BY created_at, id`);
      return rows.map((row) => ({ id: row.id, privateKeySealed: row.private_key_sealed }));
    },

    async reseal(id, privateKeySealed) {
      checkText('privateKeySealed', privateKeySealed);
      await q.query(`UPDATE signing_keys SET private_key_sealed = $2 WHERE id = $1`, [id, privateKeySealed]);
    },
  };
}
