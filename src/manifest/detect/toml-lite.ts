/**
 * Just enough TOML to read pyproject.toml, Cargo.toml, gleam.toml and hugo.toml: tables, array
 * tables, and `key = value` with the value kept as raw text (multi-line arrays joined). Detection
 * only needs names and strings, so a full parser would be weight without benefit; anything this
 * cannot make sense of is skipped rather than reported.
 */

export interface TomlTable {
  /** `''` for the top level, `tool.poetry.dependencies` for `[tool.poetry.dependencies]`. */
  name: string;
  entries: Map<string, string>;
}

export type TomlDoc = TomlTable[];

function unquoteKey(key: string): string {
  const trimmed = key.trim();
  if (/^".*"$|^'.*'$/.test(trimmed)) return trimmed.slice(1, -1);
  return trimmed;
}

function tableName(header: string): string {
  return header
    .split('.')
    .map(unquoteKey)
    .join('.');
}

/** Bracket depth change of a line, ignoring brackets inside strings and after a comment. */
function bracketBalance(line: string): number {
  let depth = 0;
  let quote: string | undefined;
  for (let i = 0; i < line.length; i += 1) {
    const char = line[i]!;
    if (quote) {
      if (char === '\\' && quote === '"') i += 1;
      else if (char === quote) quote = undefined;
    } else if (char === '"' || char === "'") quote = char;
    else if (char === '#') break;
    else if (char === '[' || char === '{') depth += 1;
    else if (char === ']' || char === '}') depth -= 1;
  }
  return depth;
}

export function parseTomlLite(text: string): TomlDoc {
  const doc: TomlDoc = [{ name: '', entries: new Map() }];
  let current = doc[0]!;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i += 1) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const header = /^\[\[?\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$/.exec(line);
    if (header) {
      current = { name: tableName(header[1]!), entries: new Map() };
      doc.push(current);
      continue;
    }
    const pair = /^("[^"]*"|'[^']*'|[A-Za-z0-9_.-]+)\s*=\s*(.*)$/.exec(line);
    if (!pair) continue;
    let value = pair[2]!;
    let depth = bracketBalance(value);
    while (depth > 0 && i + 1 < lines.length) {
      i += 1;
      const next = lines[i]!;
      value += `\n${next}`;
      depth += bracketBalance(next);
    }
    current.entries.set(unquoteKey(pair[1]!), value.trim());
  }
  return doc;
}

export function tomlTable(doc: TomlDoc, name: string): TomlTable | undefined {
  return doc.find((table) => table.name === name);
}

export function tomlTables(doc: TomlDoc, name: string): TomlTable[] {
  return doc.filter((table) => table.name === name);
}

/** The string a raw value holds (`"x"` or `'x'`), if it is one. */
export function tomlString(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const match = /^"((?:[^"\\]|\\.)*)"|^'([^']*)'/.exec(raw.trim());
  if (!match) return undefined;
  return match[1] !== undefined ? match[1].replace(/\\(.)/g, '$1') : match[2];
}

/** Every quoted string in a raw array value, e.g. a PEP 621 `dependencies = [...]`. */
export function tomlStrings(raw: string | undefined): string[] {
  if (raw === undefined) return [];
  const result: string[] = [];
  const withoutComments = raw
    .split('\n')
    .map((line) => line.replace(/#(?=(?:[^"']|"[^"]*"|'[^']*')*$).*$/, ''))
    .join('\n');
  for (const match of withoutComments.matchAll(/"((?:[^"\\]|\\.)*)"|'([^']*)'/g)) {
    result.push(match[1] ?? match[2] ?? '');
  }
  return result;
}
