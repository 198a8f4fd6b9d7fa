/**
 * The ref updates of a push, as git hands them to a pre-receive hook: one `<old> <new> <ref>` line each,
 * with an all-zero object name for "did not exist" (a create) or "no longer exists" (a delete).
 */
import { MaestroError } from '../common/index.js';

export interface RefUpdate {
  ref: string;
  oldSha: string;
  newSha: string;
}

// SHA-1 (40) or SHA-256 (64) object names, lowercase as git prints them.
const OBJECT_NAME = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

export function isZeroSha(sha: string): boolean {
  return /^0+$/.test(sha);
}

export function isObjectName(value: string): boolean {
  return OBJECT_NAME.test(value);
}

/**
 * Parses a hook's stdin. Blank lines are skipped; anything else that is not three fields of
 * `<old> <new> <ref>` is refused, naming the line, since it means the hook and Maestro disagree.
 */
export function parseRefUpdates(text: string): RefUpdate[] {
  const updates: RefUpdate[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '') return;
    const fields = line.split(' ');
    const [oldSha, newSha, ref] = fields;
    if (fields.length !== 3 || !oldSha || !newSha || !ref || !isObjectName(oldSha) || !isObjectName(newSha) || !ref.startsWith('refs/')) {
      throw new MaestroError(
        'validation_error',
        `ref update line ${index + 1} is not "<old sha> <new sha> <ref>": ${JSON.stringify(line.slice(0, 200))}`,
        { line: index + 1 },
      );
    }
    updates.push({ ref, oldSha, newSha });
  });
  return updates;
}
