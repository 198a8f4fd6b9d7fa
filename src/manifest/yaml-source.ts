/**
 * The YAML layer: text -> plain data, plus the means to point any manifest path back at the line and
 * column it came from. Never throws: broken YAML becomes located messages.
 */
import { isAlias, isMap, isScalar, isSeq, parseDocument } from 'yaml';
import type { Document, Node, Pair } from 'yaml';
import type { PathSegment } from './problems.js';

export interface Position {
  line: number;
  column: number;
}

export interface LocatedMessage extends Position {
  path: PathSegment[];
  message: string;
}

export interface YamlSource {
  /** The plain data, or undefined when the file holds nothing. */
  data: unknown;
  errors: LocatedMessage[];
  warnings: LocatedMessage[];
  /**
   * Where the node at `path` starts; `key` points at a mapping key instead of its value. `within` points
   * that many characters into a text value instead (quotes, escapes, indentation and folded lines allowed for).
   */
  locate(path: readonly PathSegment[], target?: 'value' | 'key', within?: number): Position;
}

/** Anchors may be reused this many times; more is the "billion laughs" blow-up, refused. */
const MAX_ALIAS_COUNT = 100;

/** One broken line can set off a cascade of follow-on errors; beyond this many, they are summed up. */
const MAX_SYNTAX_ERRORS = 10;

export function readYaml(text: string): YamlSource {
  const doc = parseDocument(text, { prettyErrors: false, merge: true, uniqueKeys: true });
  const at = positionsIn(text);

  const errors = syntaxErrors(doc.errors.map((error) => ({ ...at(error.pos[0]), path: [], message: `YAML syntax: ${error.message}` })));
  const warnings: LocatedMessage[] = doc.warnings.map((warning) => ({
    ...at(warning.pos[0]),
    path: [],
    message: `YAML: ${warning.message}`,
  }));

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) ?? undefined;
  } catch (error) {
    errors.push({ ...at(0), path: [], message: `YAML: ${error instanceof Error ? error.message : String(error)}` });
  }

  keepWrittenEnvText(doc, data);

  return {
    data,
    errors,
    warnings,
    locate(path, target = 'value', within) {
      const inside = within === undefined || target === 'key' ? undefined : offsetInside(text, nodeAt(doc, path), within);
      return at(inside ?? offsetOf(doc, path, target));
    },
  };
}

/**
 * Offset -> 1-based line and column. Counted here rather than by the YAML parser's line counter, which
 * misses line breaks inside the tokens of a broken document.
 */
function positionsIn(text: string): (offset: number) => Position {
  const lineStarts = [0];
  for (let index = text.indexOf('\n'); index !== -1; index = text.indexOf('\n', index + 1)) lineStarts.push(index + 1);
  return (offset) => {
    const clamped = Math.max(0, Math.min(offset, text.length));
    let low = 0;
    let high = lineStarts.length - 1;
    while (low < high) {
      const middle = Math.ceil((low + high) / 2);
      if (lineStarts[middle]! <= clamped) low = middle;
      else high = middle - 1;
    }
    return { line: low + 1, column: clamped - lineStarts[low]! + 1 };
  };
}

/** The first error of each line (the rest of a line are its echoes), at most MAX_SYNTAX_ERRORS of them. */
function syntaxErrors(all: LocatedMessage[]): LocatedMessage[] {
  const firstPerLine = all.filter((error, index) => all.findIndex((other) => other.line === error.line) === index);
  if (firstPerLine.length <= MAX_SYNTAX_ERRORS) return firstPerLine;
  const rest = firstPerLine.length - MAX_SYNTAX_ERRORS;
  const next = firstPerLine[MAX_SYNTAX_ERRORS]!;
  return [
    ...firstPerLine.slice(0, MAX_SYNTAX_ERRORS),
    { ...next, message: `YAML syntax: ${rest} more errors from here on, most likely set off by the ones above` },
  ];
}

interface Found {
  node?: Node | null;
  pair?: Pair;
}

/** The node a mapping key or list index leads to, following anchors and `<<` merges. */
function child(doc: Document, parent: unknown, segment: PathSegment): Found | undefined {
  const node = isAlias(parent) ? parent.resolve(doc) : parent;
  if (isSeq(node) && typeof segment === 'number') {
    const item = node.items[segment];
    return item === undefined ? undefined : { node: item as Node };
  }
  if (!isMap(node)) return undefined;
  for (const pair of node.items) {
    const key = isScalar(pair.key) ? pair.key.value : pair.key;
    if (String(key) === String(segment)) return { node: pair.value as Node | null, pair: pair as Pair };
  }
  for (const pair of node.items) {
    if (!isScalar(pair.key) || String(pair.key.value) !== '<<') continue;
    const sources = isSeq(pair.value) ? pair.value.items : [pair.value];
    for (const source of sources) {
      const found = child(doc, source, segment);
      if (found) return found;
    }
  }
  return undefined;
}

/** Start offset of the deepest node along `path` that exists: a missing key points at its parent. */
function offsetOf(doc: Document, path: readonly PathSegment[], target: 'value' | 'key'): number {
  let current: unknown = doc.contents;
  let offset = startOf(current) ?? 0;
  for (const [index, segment] of path.entries()) {
    const found = child(doc, current, segment);
    if (!found) break;
    const isLast = index === path.length - 1;
    const keyOffset = startOf(found.pair?.key);
    const valueOffset = isEmptyScalar(found.node) ? undefined : startOf(found.node);
    if (isLast && target === 'key' && keyOffset !== undefined) return keyOffset;
    // `key:` with nothing after it has no value worth pointing at; its key is the place to edit.
    offset = valueOffset ?? keyOffset ?? offset;
    current = found.node;
  }
  return offset;
}

/** `key:` with nothing after it. */
function isEmptyScalar(node: unknown): boolean {
  return isScalar(node) && node.value === null && (node.source === undefined || node.source === '');
}

function startOf(node: unknown): number | undefined {
  if (node && typeof node === 'object' && 'range' in node) {
    const range = (node as { range?: [number, number, number] | null }).range;
    if (range) return range[0];
  }
  return undefined;
}

/**
 * Env values are text. YAML reads `VERSION: 1.10` as the number 1.1; take what the user wrote instead
 * so no digits are lost.
 */
function keepWrittenEnvText(doc: Document, data: unknown): void {
  const envPaths: PathSegment[][] = [];
  for (const [name] of entries(get(data, 'services'))) envPaths.push(['services', name, 'env']);
  for (const [environment, spec] of entries(get(data, 'environments'))) {
    envPaths.push(['environments', environment, 'env']);
    for (const [name] of entries(get(spec, 'services'))) envPaths.push(['environments', environment, 'services', name, 'env']);
  }
  for (const envPath of envPaths) {
    const env = envPath.reduce<unknown>((value, segment) => get(value, String(segment)), data);
    for (const [key, value] of entries(env)) {
      if (typeof value !== 'number' && typeof value !== 'boolean') continue;
      const node = nodeAt(doc, [...envPath, key]);
      if (isScalar(node) && typeof node.source === 'string') (env as Record<string, unknown>)[key] = node.source;
    }
  }
}

function nodeAt(doc: Document, path: readonly PathSegment[]): unknown {
  let current: unknown = doc.contents;
  for (const segment of path) {
    const found = child(doc, current, segment);
    if (!found) return undefined;
    current = found.node;
  }
  return isAlias(current) ? current.resolve(doc) : current;
}

function get(value: unknown, key: string): unknown {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && Object.hasOwn(value, key)
    ? (value as Record<string, unknown>)[key]
    : undefined;
}

function entries(value: unknown): [string, unknown][] {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? Object.entries(value) : [];
}

/**
 * The file offset of character `index` of a text scalar's value. The value and its source differ in
 * blanks (indentation, folded line breaks), quotes and escapes, so the two are walked side by side by
 * their non-blank characters. Undefined when the node is not a text scalar.
 */
function offsetInside(text: string, node: unknown, index: number): number | undefined {
  if (!isScalar(node) || typeof node.value !== 'string' || !node.range) return undefined;
  const value = node.value;
  const [start, end] = node.range;
  const raw = text.slice(start, end);
  const blank = (c: string | undefined) => c !== undefined && /\s/.test(c);

  // The k-th non-blank character of the value is the one wanted (the next one when index is a blank).
  let wanted = 0;
  for (let i = 0; i < Math.min(index, value.length); i += 1) if (!blank(value[i])) wanted += 1;

  const double = node.type === 'QUOTE_DOUBLE';
  const single = node.type === 'QUOTE_SINGLE';
  let j = 0;
  if (node.type === 'BLOCK_LITERAL' || node.type === 'BLOCK_FOLDED') j = raw.includes('\n') ? raw.indexOf('\n') + 1 : raw.length;
  else if (double || single) j = 1;
  const stop = double || single ? raw.length - 1 : raw.length;

  let seen = 0;
  let after = j;
  while (j < stop) {
    const c = raw[j]!;
    if (blank(c)) {
      j += 1;
      continue;
    }
    let width = 1;
    let isBlank = false;
    if (double && c === '\\') {
      const next = raw[j + 1] ?? '';
      width = next === 'x' ? 4 : next === 'u' ? 6 : next === 'U' ? 10 : 2;
      isBlank = ' ntrvfLP_\n'.includes(next);
    } else if (single && c === "'" && raw[j + 1] === "'") width = 2;
    if (!isBlank) {
      if (seen === wanted) return start + j;
      seen += 1;
      after = j + width;
    }
    j += width;
  }
  return start + after;
}
