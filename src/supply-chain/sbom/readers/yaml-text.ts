/** YAML lockfiles (pnpm, yarn berry) parsed with the line of the first error. */
import { parse, YAMLParseError } from 'yaml';
import type { Problem } from '../model.js';

export function parseYamlLockfile(text: string, file: string): { value: unknown } | { problem: Problem } {
  try {
    // Lockfiles repeat anchors rarely but are big: no alias expansion limit beyond the default, no warnings.
    return { value: parse(text, { logLevel: 'silent', uniqueKeys: false }) };
  } catch (error) {
    const line = error instanceof YAMLParseError ? error.linePos?.[0]?.line : undefined;
    const reason = (error as Error).message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    return { problem: { file, ...(line === undefined ? {} : { line }), message: `is not valid YAML (${reason}); it could not be read` } };
  }
}
