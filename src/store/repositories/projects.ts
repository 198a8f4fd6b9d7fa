import { MaestroError } from '../../common/index.js';
import type { Queryable } from '../db.js';
import { newId } from '../ids.js';
import { num, opt } from '../rows.js';
import type { Environment, Project, ProjectSettings, ProjectSettingsPatch, Service } from '../types.js';
import { checkCount, checkName, checkText } from '../validate.js';

interface NamedRow {
  id: string;
  name: string;
  created_at: Date;
}

interface ProjectRow extends NamedRow {
  production_branch: string;
  preview_ttl_ms: string | number;
  max_previews: number;
  preview_idle_ms: string | number | null;
}

interface ScopedRow extends NamedRow {
  project_id: string;
}

const toProject = (row: ProjectRow): Project => {
  const idle = opt(row.preview_idle_ms);
  return {
    id: row.id,
    name: row.name,
    createdAt: row.created_at,
    productionBranch: row.production_branch,
    previewTtlMs: num(row.preview_ttl_ms),
    maxPreviews: row.max_previews,
    ...(idle === undefined ? {} : { previewIdleMs: num(idle) }),
  };
};
const toScoped = (row: ScopedRow): Service & Environment => ({
  id: row.id,
  projectId: row.project_id,
  name: row.name,
  createdAt: row.created_at,
});

export interface ProjectsRepository {
  /** Fails with `conflict` when the name is taken. */
  create(name: string): Promise<Project>;
  /** The project with this name, created when missing. */
  ensure(name: string): Promise<Project>;
  get(name: string): Promise<Project | undefined>;
  getById(id: string): Promise<Project | undefined>;
  /** The organisation the named project belongs to, with its id: what access to it is decided by. */
  scope(name: string): Promise<{ id: string; organisationId: string } | undefined>;
  list(): Promise<Project[]>;
  /** Deletes the project with everything under it (its events stay). True when it existed. */
  remove(name: string): Promise<boolean>;
  /** How the project takes pushes and its previews' limits; undefined when there is no such project. */
  settings(projectId: string): Promise<ProjectSettings | undefined>;
  /** Changes the fields the patch names; `not_found` when there is no such project. */
  updateSettings(projectId: string, patch: ProjectSettingsPatch): Promise<Project>;
}

export function projectsRepository(q: Queryable): ProjectsRepository {
  return {
    async create(name: string): Promise<Project> {
      checkName('project', name);
      const rows = await q.query<ProjectRow>(
        'INSERT INTO projects (id, name) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING RETURNING *',
        [newId('prj'), name],
      );
      if (!rows[0]) throw new MaestroError('conflict', `project "${name}" already exists`, { name });
      return toProject(rows[0]);
    },

    async ensure(name: string): Promise<Project> {
      checkName('project', name);
      await q.query('INSERT INTO projects (id, name) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING', [newId('prj'), name]);
      const rows = await q.query<ProjectRow>('SELECT * FROM projects WHERE name = $1', [name]);
      return toProject(rows[0]!);
    },

    async get(name: string): Promise<Project | undefined> {
      const rows = await q.query<ProjectRow>('SELECT * FROM projects WHERE name = $1', [name]);
      return rows[0] && toProject(rows[0]);
    },

    async getById(id: string): Promise<Project | undefined> {
      const rows = await q.query<ProjectRow>('SELECT * FROM projects WHERE id = $1', [id]);
      return rows[0] && toProject(rows[0]);
    },

    async scope(name: string): Promise<{ id: string; organisationId: string } | undefined> {
      const rows = await q.query<{ id: string; organisation_id: string }>('SELECT id, organisation_id FROM projects WHERE name = $1', [name]);
      return rows[0] && { id: rows[0].id, organisationId: rows[0].organisation_id };
    },

    async list(): Promise<Project[]> {
      const rows = await q.query<ProjectRow>('SELECT * FROM projects ORDER BY name');
      return rows.map(toProject);
    },

    async remove(name: string): Promise<boolean> {
      const rows = await q.query('DELETE FROM projects WHERE name = $1 RETURNING id', [name]);
      return rows.length > 0;
    },

    async settings(projectId: string): Promise<ProjectSettings | undefined> {
      const rows = await q.query<ProjectRow>('SELECT * FROM projects WHERE id = $1', [projectId]);
      if (!rows[0]) return undefined;
      const { productionBranch, previewTtlMs, maxPreviews, previewIdleMs } = toProject(rows[0]);
      return { productionBranch, previewTtlMs, maxPreviews, ...(previewIdleMs === undefined ? {} : { previewIdleMs }) };
    },

    async updateSettings(projectId: string, patch: ProjectSettingsPatch): Promise<Project> {
      if (patch.productionBranch !== undefined) checkText('productionBranch', patch.productionBranch);
      if (patch.previewTtlMs !== undefined) checkPositive('previewTtlMs', patch.previewTtlMs);
      if (patch.maxPreviews !== undefined) checkCount('maxPreviews', patch.maxPreviews);
      if (patch.previewIdleMs !== undefined && patch.previewIdleMs !== null) checkPositive('previewIdleMs', patch.previewIdleMs);
      // COALESCE keeps what the patch leaves out; the idle time alone may be cleared, so it has a flag.
      const rows = await q.query<ProjectRow>(
        `UPDATE projects SET
           production_branch = COALESCE($2, production_branch),
           preview_ttl_ms = COALESCE($3, preview_ttl_ms),
           max_previews = COALESCE($4, max_previews),
           preview_idle_ms = CASE WHEN $5 THEN $6 ELSE preview_idle_ms END
         WHERE id = $1 RETURNING *`,
        [
          projectId,
          patch.productionBranch ?? null,
          patch.previewTtlMs ?? null,
          patch.maxPreviews ?? null,
          patch.previewIdleMs !== undefined,
          patch.previewIdleMs ?? null,
        ],
      );
      if (!rows[0]) throw new MaestroError('not_found', `no project with id ${projectId}`);
      return toProject(rows[0]);
    },
  };
}

function checkPositive(field: string, value: number): void {
  if (checkCount(field, value) === 0) throw new MaestroError('validation_error', `${field} must be more than 0, got 0`, { field });
}

/** Services and environments have the same shape: a name unique within a project. */
function scopedRepository(q: Queryable, kind: 'service' | 'environment') {
  const table = kind === 'service' ? 'services' : 'environments';
  const prefix = kind === 'service' ? 'svc' : 'env';
  return {
    async ensure(projectId: string, name: string): Promise<Service & Environment> {
      checkText('projectId', projectId);
      checkName(kind, name);
      await q.query(
        `INSERT INTO ${table} (id, project_id, name) VALUES ($1, $2, $3) ON CONFLICT (project_id, name) DO NOTHING`,
        [newId(prefix), projectId, name],
      );
      const rows = await q.query<ScopedRow>(`SELECT * FROM ${table} WHERE project_id = $1 AND name = $2`, [projectId, name]);
      return toScoped(rows[0]!);
    },

    async get(projectId: string, name: string): Promise<(Service & Environment) | undefined> {
      const rows = await q.query<ScopedRow>(`SELECT * FROM ${table} WHERE project_id = $1 AND name = $2`, [projectId, name]);
      return rows[0] && toScoped(rows[0]);
    },

    async getById(id: string): Promise<(Service & Environment) | undefined> {
      const rows = await q.query<ScopedRow>(`SELECT * FROM ${table} WHERE id = $1`, [id]);
      return rows[0] && toScoped(rows[0]);
    },

    async list(projectId: string): Promise<(Service & Environment)[]> {
      const rows = await q.query<ScopedRow>(`SELECT * FROM ${table} WHERE project_id = $1 ORDER BY name`, [projectId]);
      return rows.map(toScoped);
    },
  };
}

/** What only environments can do: go away whole (previews), and stop serving first. */
function environmentOnly(q: Queryable) {
  return {
    async remove(id: string): Promise<boolean> {
      const rows = await q.query('DELETE FROM environments WHERE id = $1 RETURNING id', [id]);
      return rows.length > 0;
    },

    async clearServing(id: string): Promise<void> {
      await q.query('DELETE FROM traffic_shifts WHERE environment_id = $1', [id]);
      await q.query('DELETE FROM live_state WHERE environment_id = $1', [id]);
    },
  };
}

export interface ServicesRepository {
  ensure(projectId: string, name: string): Promise<Service>;
  get(projectId: string, name: string): Promise<Service | undefined>;
  getById(id: string): Promise<Service | undefined>;
  list(projectId: string): Promise<Service[]>;
}

export interface EnvironmentsRepository {
  ensure(projectId: string, name: string): Promise<Environment>;
  get(projectId: string, name: string): Promise<Environment | undefined>;
  getById(id: string): Promise<Environment | undefined>;
  list(projectId: string): Promise<Environment[]>;
  /**
   * Deletes the environment with its deployments, builds, revisions, releases and live state (its
   * events stay). True when it existed. Stop its replicas first: nothing here touches processes.
   */
  remove(id: string): Promise<boolean>;
  /** Nothing serves in the environment any more: its live state and traffic splits go, so route tables drop it. */
  clearServing(id: string): Promise<void>;
}

export const servicesRepository = (q: Queryable): ServicesRepository => scopedRepository(q, 'service');
export const environmentsRepository = (q: Queryable): EnvironmentsRepository => ({
  ...scopedRepository(q, 'environment'),
  ...environmentOnly(q),
});
