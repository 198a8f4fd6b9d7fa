import type { Queryable } from '../db.js';

/** A team's boundary: its projects, its people's memberships and its tokens. One, `default`, exists from the start. */
export interface Organisation {
  id: string;
  name: string;
  createdAt: Date;
}

interface OrganisationRow {
  id: string;
  name: string;
  created_at: Date;
}

const toOrganisation = (row: OrganisationRow): Organisation => ({ id: row.id, name: row.name, createdAt: row.created_at });

export interface OrganisationsRepository {
  get(id: string): Promise<Organisation | undefined>;
  list(): Promise<Organisation[]>;
}

export function organisationsRepository(q: Queryable): OrganisationsRepository {
  return {
    async get(id) {
      const rows = await q.query<OrganisationRow>('SELECT id, name, created_at FROM organisations WHERE id = $1', [id]);
      return rows[0] && toOrganisation(rows[0]);
    },

    async list() {
      const rows = await q.query<OrganisationRow>('SELECT id, name, created_at FROM organisations ORDER BY name');
      return rows.map(toOrganisation);
    },
  };
}
