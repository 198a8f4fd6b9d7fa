import { MaestroError } from '../../common/index.js';
import type { Queryable } from '../db.js';
import { newId } from '../ids.js';
import type { Environment, Project, Service } from '../types.js';
import { checkName, checkText } from '../validate.js';

interface ProjectRow {
  id: string;
  name: string;
  created_at: Date;
}

interface ScopedRow extends ProjectRow {
  project_id: string;
}

const toProject = (row: ProjectRow): Project => ({ id: row.id, name: row.name, createdAt: row.created_at });
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
  list(): Promise<Project[]>;
  /** Deletes the project with everything under it (its events stay). True when it existed. */
  remove(name: string): Promise<boolean>;
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

    async list(): Promise<Project[]> {
      const rows = await q.query<ProjectRow>('SELECT * FROM projects ORDER BY name');
      return rows.map(toProject);
    },

    async remove(name: string): Promise<boolean> {
      const rows = await q.query('DELETE FROM projects WHERE name = $1 RETURNING id', [name]);
      return rows.length > 0;
    },
  };
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
}

export const servicesRepository = (q: Queryable): ServicesRepository => scopedRepository(q, 'service');
export const environmentsRepository = (q: Queryable): EnvironmentsRepository => scopedRepository(q, 'environment');
