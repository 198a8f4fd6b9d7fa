import { existsSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { parse } from 'yaml';

/** `--project` defaults to the `project` of ./maestro.yml (or DIR's), else the folder's name. */
export function defaultProject(dir = '.'): string {
  const file = join(dir, 'maestro.yml');
  if (existsSync(file)) {
    try {
      const doc = parse(readFileSync(file, 'utf8')) as { project?: unknown } | null;
      if (doc && typeof doc.project === 'string' && doc.project) return doc.project;
    } catch {
      // an invalid manifest is reported by the command that reads it
    }
  }
  return basename(resolve(dir))
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40) || 'app';
}
