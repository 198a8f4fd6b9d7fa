import { MaestroError } from '../../common/index.js';
import { canonicalCycloneDx, componentsOf, type SbomResult } from '../../supply-chain/sbom/index.js';
import type { Queryable } from '../db.js';
import { compact, opt } from '../rows.js';
import { checkText, toJson } from '../validate.js';

/**
 * A build's SBOM as stored: the CycloneDX document (keys in their written order again, since jsonb
 * reorders them), the flat component list read back from it, and what made it incomplete.
 */
export interface SbomRecord extends SbomResult {
  buildId: string;
  /** sha256 hex of the artifact the build produced, once known. */
  artifactDigest?: string;
  createdAt: Date;
}

export interface SbomsRepository {
  /** Stores the build's SBOM, replacing one it had (a build whose evidence is made again). Extra fields of `sbom` are ignored. */
  save(buildId: string, sbom: SbomResult & { artifactDigest?: string }): Promise<SbomRecord>;
  get(buildId: string): Promise<SbomRecord | undefined>;
  /** The newest SBOM of a build that produced this artifact (builds reused whole share their artifact). */
  getByArtifact(artifactDigest: string): Promise<SbomRecord | undefined>;
  /** Records the artifact once the build has packed it; false when the build has no SBOM. */
  setArtifact(buildId: string, artifactDigest: string): Promise<boolean>;
}

interface SbomRow {
  build_id: string;
  artifact_digest: string | null;
  document: unknown;
  complete: boolean;
  problems: unknown;
  lockfile_digest: string;
  created_at: Date;
}

const toRecord = (row: SbomRow): SbomRecord => {
  const document = canonicalCycloneDx(row.document) as SbomResult['document'];
  return compact({
    buildId: row.build_id,
    artifactDigest: opt(row.artifact_digest),
    document,
    components: componentsOf(document),
    complete: row.complete,
    problems: Array.isArray(row.problems) ? row.problems.filter((problem): problem is string => typeof problem === 'string') : [],
    lockfileDigest: row.lockfile_digest,
    createdAt: row.created_at,
  });
};

export function sbomsRepository(q: Queryable): SbomsRepository {
  return {
    async save(buildId, sbom) {
      checkText('buildId', buildId);
      checkText('lockfileDigest', sbom.lockfileDigest);
      if (sbom.artifactDigest !== undefined) checkText('artifactDigest', sbom.artifactDigest);
      if (sbom.document === null || typeof sbom.document !== 'object' || Array.isArray(sbom.document)) {
        throw new MaestroError('validation_error', 'document must be a CycloneDX JSON object', { field: 'document' });
      }
      if (typeof sbom.complete !== 'boolean') throw new MaestroError('validation_error', 'complete must be true or false', { field: 'complete' });
      if (!Array.isArray(sbom.problems) || sbom.problems.some((problem) => typeof problem !== 'string')) {
        throw new MaestroError('validation_error', 'problems must be a list of strings', { field: 'problems' });
      }
      const rows = await q.query<SbomRow>(
        `INSERT INTO sboms (build_id, artifact_digest, document, complete, problems, lockfile_digest) VALUES ($1, $2, $3::jsonb, $4, $5::jsonb, $6)
         ON CONFLICT (build_id) DO UPDATE SET artifact_digest = coalesce(excluded.artifact_digest, sboms.artifact_digest), document = excluded.document,
           complete = excluded.complete, problems = excluded.problems, lockfile_digest = excluded.lockfile_digest, created_at = now()
         RETURNING *`,
        [buildId, sbom.artifactDigest ?? null, toJson('document', sbom.document), sbom.complete, toJson('problems', sbom.problems), sbom.lockfileDigest],
      );
      return toRecord(rows[0]!);
    },

    async get(buildId) {
      const rows = await q.query<SbomRow>('SELECT * FROM sboms WHERE build_id = $1', [buildId]);
      return rows[0] && toRecord(rows[0]);
    },

    async getByArtifact(artifactDigest) {
      const rows = await q.query<SbomRow>('SELECT * FROM sboms WHERE artifact_digest = $1 ORDER BY created_at DESC, build_id DESC LIMIT 1', [artifactDigest]);
      return rows[0] && toRecord(rows[0]);
    },

    async setArtifact(buildId, artifactDigest) {
      checkText('artifactDigest', artifactDigest);
      const rows = await q.query('UPDATE sboms SET artifact_digest = $2 WHERE build_id = $1 RETURNING build_id', [buildId, artifactDigest]);
      return rows.length > 0;
    },
  };
}
