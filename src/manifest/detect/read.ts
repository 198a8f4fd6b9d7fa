import { joinPath, type SourceTree } from './source-tree.js';

/** What a detector gets: the tree, the folder it looks at, and where to put problems. */
export interface Scope {
  tree: SourceTree;
  /** The folder looked at, relative to the detected root (`.` for the root). */
  dir: string;
  problems: string[];
}

export function scopeAt(scope: Scope, dir: string): Scope {
  return { ...scope, dir: joinPath(dir) };
}

/** Path of a file of this scope, relative to the root: what evidence and problems name. */
export function fileIn(scope: Scope, name: string): string {
  return joinPath(scope.dir, name);
}

export function readIn(scope: Scope, name: string, limit?: number): Promise<string | undefined> {
  return scope.tree.readText(fileIn(scope, name), limit);
}

export function fileExists(scope: Scope, name: string): Promise<boolean> {
  return scope.tree.isFile(fileIn(scope, name));
}

export function dirExists(scope: Scope, name: string): Promise<boolean> {
  return scope.tree.isDir(fileIn(scope, name));
}

/** The first of `names` that is a file in the scope. */
export async function firstFile(scope: Scope, names: readonly string[]): Promise<string | undefined> {
  for (const name of names) if (await fileExists(scope, name)) return name;
  return undefined;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Removes `//` and `/* *\/` comments and trailing commas outside strings, so JSONC files
 * (deno.jsonc, tsconfig.json) parse as JSON.
 */
export function stripJsonComments(text: string): string {
  let out = '';
  /** Where in `out` a comma outside strings was written, until something other than space follows. */
  let pendingComma = -1;
  for (let i = 0; i < text.length; i += 1) {
    const char = text[i]!;
    if (char === '"') {
      pendingComma = -1;
      let end = i + 1;
      while (end < text.length && text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      out += text.slice(i, end + 1);
      i = end;
    } else if (char === '/' && text[i + 1] === '/') {
      while (i + 1 < text.length && text[i + 1] !== '\n') i += 1;
    } else if (char === '/' && text[i + 1] === '*') {
      const close = text.indexOf('*/', i + 2);
      i = close === -1 ? text.length : close + 1;
    } else if ((char === '}' || char === ']') && pendingComma >= 0) {
      out = out.slice(0, pendingComma) + out.slice(pendingComma + 1) + char;
      pendingComma = -1;
    } else {
      if (char === ',') pendingComma = out.length;
      else if (!/\s/.test(char)) pendingComma = -1;
      out += char;
    }
  }
  return out;
}

/**
 * A JSON object from a file: undefined when the file is missing, or when it is not a JSON object,
 * in which case a problem naming the file says what to fix.
 */
export async function readJsonObject(
  scope: Scope,
  name: string,
  options: { comments?: boolean } = {},
): Promise<Record<string, unknown> | undefined> {
  const text = await readIn(scope, name);
  if (text === undefined) return undefined;
  const file = fileIn(scope, name);
  let value: unknown;
  try {
    value = JSON.parse(options.comments ? stripJsonComments(text) : text);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    scope.problems.push(`${file} is not valid JSON (${detail}); fix it so Maestro can read it`);
    return undefined;
  }
  if (!isRecord(value)) {
    scope.problems.push(`${file} must hold a JSON object ({...}); Maestro could not read it`);
    return undefined;
  }
  return value;
}

/** A string-to-string map from a JSON value, dropping entries that are not strings. */
export function stringMap(value: unknown): Record<string, string> {
  const result: Record<string, string> = {};
  if (!isRecord(value)) return result;
  for (const [key, entry] of Object.entries(value)) if (typeof entry === 'string') result[key] = entry;
  return result;
}

export function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((entry): entry is string => typeof entry === 'string') : [];
}

/** `'a b'` stays as is when safe, otherwise single-quoted for a POSIX shell. */
export function shellQuote(word: string): string {
  if (/^[\w@%+=:,./$-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** From a service folder back to the root: `apps/web` -> `../..`. */
export function upToRoot(dir: string): string {
  if (dir === '.' || dir === '') return '.';
  return dir
    .split('/')
    .filter((part) => part !== '' && part !== '.')
    .map(() => '..')
    .join('/');
}

/** True for a relative folder that stays inside the service (`dist`, `.output/public`), not `/tmp` or `../x`. */
export function isInsideFolder(value: string): boolean {
  const normal = value.replace(/\\/g, '/').replace(/^\.\//, '').replace(/\/+$/, '');
  if (normal === '' || /^([/]|[A-Za-z]:)/.test(normal)) return false;
  return !normal.split('/').includes('..');
}
