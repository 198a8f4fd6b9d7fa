/** TOML lockfiles (poetry.lock, uv.lock, pyproject.toml), parsed with smol-toml, with the line of the first error. */
import { parse, TomlError } from 'smol-toml';
import type { Problem } from '../model.js';

export function parseTomlFile(text: string, file: string): { value: Record<string, unknown> } | { problem: Problem } {
  try {
    return { value: parse(text) as Record<string, unknown> };
  } catch (error) {
    const line = error instanceof TomlError ? error.line : undefined;
    const reason = (error as Error).message.split('\n')[0]!.replace(/^Invalid TOML document: /, '');
    return { problem: { file, ...(line === undefined ? {} : { line }), message: `is not valid TOML (${reason}); it could not be read` } };
  }
}
