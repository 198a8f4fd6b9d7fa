import { ROLES, type Role } from '../../identity/permissions.js';
import type { Queryable } from '../db.js';
import { newId } from '../ids.js';
import { compact, num, opt } from '../rows.js';
import { checkOneOf, checkText } from '../validate.js';

/** A person's role in an organisation, or in one of its projects. */
export interface Membership {
  id: string;
  userId: string;
  organisationId: string;
  /** Absent: the role holds across the organisation. */
  projectId?: string;
  projectName?: string;
  role: Role;
  createdAt: Date;
}

/** The scope a membership (or a token) holds its role in: the whole organisation, or one project in it. */
export interface Scope {
  organisationId: string;
  projectId?: string;
}

interface MembershipRow {
  id: string;
  user_id: string;
  organisation_id: string;
  project_id: string | null;
  project_name: string | null;
  role: Role;
  created_at: Date;
}

const SELECT = `SELECT m.id, m.user_id, m.organisation_id, m.project_id, p.name AS project_name, m.role, m.created_at
  FROM memberships m LEFT JOIN projects p ON p.id = m.project_id`;

const toMembership = (row: MembershipRow): Membership =>
  compact({
    id: row.id,
    userId: row.user_id,
    organisationId: row.organisation_id,
    projectId: opt(row.project_id),
    projectName: opt(row.project_name),
    role: row.role,
    createdAt: row.created_at,
  });

export function checkRole(role: unknown): Role {
  return checkOneOf('role', role, ROLES);
}

export interface MembershipsRepository {
  /** Gives the user this role in the scope, replacing the role they had there. */
  set(input: Scope & { userId: string; role: Role }): Promise<Membership>;
  /** Every membership of the user, organisation-wide ones first. */
  forUser(userId: string): Promise<Membership[]>;
  /** Every membership in the organisation. */
  list(organisationId: string): Promise<Membership[]>;
  /** True when the user had a role in exactly this scope. */
  remove(input: Scope & { userId: string }): Promise<boolean>;
  /** People who are owners across the organisation and not disabled: the last one may not go. */
  activeOwners(organisationId: string): Promise<number>;
}

export function membershipsRepository(q: Queryable): MembershipsRepository {
  return {
    async set({ userId, organisationId, projectId, role }) {
      checkText('userId', userId);
      checkRole(role);
      const rows = await q.query<{ id: string }>(
        `INSERT INTO memberships (id, user_id, organisation_id, project_id, role) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (user_id, organisation_id, (COALESCE(project_id, ''))) DO UPDATE SET role = excluded.role, updated_at = now()
         RETURNING id`,
        [newId('mbr'), userId, organisationId, projectId ?? null, role],
      );
      const saved = await q.query<MembershipRow>(`${SELECT} WHERE m.id = $1`, [rows[0]!.id]);
      return toMembership(saved[0]!);
    },

    async forUser(userId) {
      const rows = await q.query<MembershipRow>(`${SELECT} WHERE m.user_id = $1 ORDER BY m.project_id IS NOT NULL, p.name`, [userId]);
      return rows.map(toMembership);
    },

    async list(organisationId) {
      const rows = await q.query<MembershipRow>(`${SELECT} WHERE m.organisation_id = $1 ORDER BY m.user_id, m.project_id IS NOT NULL, p.name`, [organisationId]);
      return rows.map(toMembership);
    },

    async remove({ userId, organisationId, projectId }) {
      const rows = await q.query(
        `DELETE FROM memberships WHERE user_id = $1 AND organisation_id = $2 AND COALESCE(project_id, '') = $3 RETURNING id`,
        [userId, organisationId, projectId ?? ''],
      );
      return rows.length > 0;
    },

    async activeOwners(organisationId) {
      const rows = await q.query<{ count: string | number }>(
        `SELECT count(*) AS count FROM memberships m JOIN users u ON u.id = m.user_id
         WHERE m.organisation_id = $1 AND m.project_id IS NULL AND m.role = 'owner' AND u.disabled_at IS NULL`,
        [organisationId],
      );
      return num(rows[0]!.count);
    },
  };
}

