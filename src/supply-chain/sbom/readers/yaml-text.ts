/** YAML lockfiles (pnpm, yarn berry) parsed with the line of the first error. */
import { parseDocument } from 'yaml';
import type { Problem } from '../model.js';
import { lineAt } from '../text-position.js';

export function parseYamlLockfile(text: string, file: string): { value: unknown } | { problem: Problem } {
  try {
    // Lockfiles may repeat keys in odd corners; errors still count, warnings do not.
    const document = parseDocument(text, { uniqueKeys: false, prettyErrors: false });
    const error = document.errors[0];
    if (!error) return { value: document.toJS({ maxAliasCount: -1 }) };
    const line = lineAt(text, error.pos[0]);
    return { problem: { file, ...(line === undefined ? {} : { line }), message: `is not valid YAML (${error.message.split('\n')[0]}); it could not be read` } };
  } catch (error) {
    return { problem: { file, message: `is not valid YAML (${(error as Error).message.split('\n')[0]}); it could not be read` } };
  }
}
