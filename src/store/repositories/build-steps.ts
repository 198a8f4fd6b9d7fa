import type { Queryable } from '../db.js';
import { compact, opt } from '../rows.js';
import type { BuildStep, BuildStepName, BuildStepStatus } from '../types.js';
import { checkOneOf } from '../validate.js';

interface StepRow {
  build_id: string;
  name: BuildStepName;
  position: number;
  status: BuildStepStatus;
  command: string | null;
  exit_code: number | null;
  cache: 'hit' | 'miss' | null;
  attempt: number;
  error: string | null;
  started_at: Date | null;
  finished_at: Date | null;
}

const toStep = (row: StepRow): BuildStep =>
  compact({
    buildId: row.build_id,
    name: row.name,
    position: row.position,
    status: row.status,
    command: opt(row.command),
    exitCode: opt(row.exit_code),
    cache: opt(row.cache),
    attempt: row.attempt,
    error: opt(row.error),
    startedAt: opt(row.started_at),
    finishedAt: opt(row.finished_at),
  });

export const BUILD_STEP_NAMES = ['install', 'build', 'test', 'package'] as const;

export interface BuildStepsRepository {
  /** Records the pipeline's steps as pending; planning again (a resumed build) keeps what is recorded. */
  plan(buildId: string, steps: Array<{ name: BuildStepName; command?: string }>): Promise<BuildStep[]>;
  start(buildId: string, name: BuildStepName): Promise<BuildStep | undefined>;
  finish(
    buildId: string,
    name: BuildStepName,
    outcome: { status: Exclude<BuildStepStatus, 'pending' | 'running'>; exitCode?: number; cache?: 'hit' | 'miss'; error?: string },
  ): Promise<BuildStep | undefined>;
  /** Steps that were running when their runner died go back to pending, so a resumed build runs them again. */
  resetUnfinished(buildId: string): Promise<void>;
  list(buildId: string): Promise<BuildStep[]>;
}

export function buildStepsRepository(q: Queryable): BuildStepsRepository {
  const list = async (buildId: string) =>
    (await q.query<StepRow>('SELECT * FROM build_steps WHERE build_id = $1 ORDER BY position', [buildId])).map(toStep);
  return {
    async plan(buildId, steps) {
      for (const [position, step] of steps.entries()) {
        checkOneOf('name', step.name, BUILD_STEP_NAMES);
        await q.query(
          `INSERT INTO build_steps (build_id, name, position, status, command) VALUES ($1, $2, $3, 'pending', $4)
           ON CONFLICT (build_id, name) DO NOTHING`,
          [buildId, step.name, position, step.command ?? null],
        );
      }
      return list(buildId);
    },

    async start(buildId, name) {
      const rows = await q.query<StepRow>(
        `UPDATE build_steps SET status = 'running', attempt = attempt + 1, started_at = now(), finished_at = NULL, error = NULL
         WHERE build_id = $1 AND name = $2 RETURNING *`,
        [buildId, name],
      );
      return rows[0] && toStep(rows[0]);
    },

    async finish(buildId, name, { status, exitCode, cache, error }) {
      const rows = await q.query<StepRow>(
        `UPDATE build_steps SET status = $3, exit_code = $4, cache = $5, error = $6, finished_at = now()
         WHERE build_id = $1 AND name = $2 RETURNING *`,
        [buildId, name, status, exitCode ?? null, cache ?? null, error ?? null],
      );
      return rows[0] && toStep(rows[0]);
    },

    async resetUnfinished(buildId) {
      await q.query(`UPDATE build_steps SET status = 'pending' WHERE build_id = $1 AND status = 'running'`, [buildId]);
    },

    list,
  };
}
