import type { Queryable } from '../db.js';
import { checkText, toJson } from '../validate.js';

export interface SettingsRepository {
  /** The stored JSON value, or undefined when the key was never set. */
  get(key: string): Promise<unknown>;
  set(key: string, value: unknown): Promise<void>;
}

export function settingsRepository(q: Queryable): SettingsRepository {
  return {
    async get(key) {
      const rows = await q.query<{ value: unknown }>('SELECT value FROM settings WHERE key = $1', [key]);
      return rows[0]?.value;
    },

    async set(key, value) {
      checkText('key', key);
      await q.query(
        `INSERT INTO settings (key, value) VALUES ($1, $2::jsonb)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = now()`,
        [key, toJson(`setting ${key}`, value)],
      );
    },
  };
}
