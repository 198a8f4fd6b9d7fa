import type { Queryable } from '../db.js';
import { compact, opt } from '../rows.js';
import { checkText, toJson } from '../validate.js';

/** A signed statement about an artifact (SLSA provenance, an SBOM), kept as the Sigstore bundle that carries it. */
export interface AttestationRecord {
  id: string;
  /** sha256 hex of the artifact the statement is about. */
  artifactDigest: string;
  /** The build that made it; absent when that build's records are gone. */
  buildId?: string;
  predicateType: string;
  /** The signing key's id (its bundle hint). */
  keyId: string;
  /** The Sigstore bundle, in its JSON form. */
  bundle: unknown;
  createdAt: Date;
}

export interface NewAttestation {
  id: string;
  artifactDigest: string;
  buildId?: string;
  predicateType: string;
  keyId: string;
  bundle: unknown;
}

export interface AttestationsRepository {
  /**
   * Stores the attestation. An artifact has one per predicate type: a later build of the same bytes
   * replaces the earlier statement, so it describes the newest build that produced them.
   */
  put(input: NewAttestation): Promise<AttestationRecord>;
  get(artifactDigest: string, predicateType: string): Promise<AttestationRecord | undefined>;
  /** Every attestation of the artifact, by predicate type. */
  forArtifact(artifactDigest: string): Promise<AttestationRecord[]>;
}

interface AttestationRow {
  id: string;
  artifact_digest: string;
  build_id: string | null;
  predicate_type: string;
  key_id: string;
  bundle: unknown;
  created_at: Date;
}

const toRecord = (row: AttestationRow): AttestationRecord =>
  compact({
    id: row.id,
    artifactDigest: row.artifact_digest,
    buildId: opt(row.build_id),
    predicateType: row.predicate_type,
    keyId: row.key_id,
    bundle: row.bundle,
    createdAt: row.created_at,
  });

export function attestationsRepository(q: Queryable): AttestationsRepository {
  return {
    async put(input) {
      checkText('id', input.id);
      checkText('artifactDigest', input.artifactDigest);
      checkText('predicateType', input.predicateType);
      checkText('keyId', input.keyId);
      if (input.buildId !== undefined) checkText('buildId', input.buildId);
      const rows = await q.query<AttestationRow>(
        `INSERT INTO attestations (id, artifact_digest, build_id, predicate_type, key_id, bundle) VALUES ($1, $2, $3, $4, $5, $6::jsonb)
         ON CONFLICT (artifact_digest, predicate_type) DO UPDATE
           SET id = excluded.id, build_id = excluded.build_id, key_id = excluded.key_id, bundle = excluded.bundle, created_at = now()
         RETURNING *`,
        [input.id, input.artifactDigest, input.buildId ?? null, input.predicateType, input.keyId, toJson('bundle', input.bundle)],
      );
      return toRecord(rows[0]!);
    },

    async get(artifactDigest, predicateType) {
      const rows = await q.query<AttestationRow>('SELECT * FROM attestations WHERE artifact_digest = $1 AND predicate_type = $2', [
        artifactDigest,
        predicateType,
      ]);
      return rows[0] && toRecord(rows[0]);
    },

    async forArtifact(artifactDigest) {
      const rows = await q.query<AttestationRow>('SELECT * FROM attestations WHERE artifact_digest = $1 ORDER BY predicate_type', [artifactDigest]);
      return rows.map(toRecord);
    },
  };
}
