/**
 * Hides secret values in text: every place output is written or streamed runs it through here, and a
 * value becomes `[redacted:NAME]`. Pure.
 *
 * What is looked for, for each value: the value itself; its base64 and base64url forms, also inside a
 * longer encoding (at each of the three byte alignments, the characters that only the value's bytes
 * decide); its URL encoding (with %20 or +) and its JSON-escaped form. Line breaks are ignored on both
 * sides, so a value split across two lines (or a base64 block wrapped at 76 columns) is found too.
 *
 * Streams keep back only what could still become a match: the longest tail that begins some form of
 * some value. A value split across chunks is therefore found whole, and a stream's output is the same
 * as the whole text's, however it was cut.
 */

export interface NamedValue {
  name: string;
  value: string;
}

interface Pattern {
  text: string;
  name: string;
}

interface Match {
  start: number;
  end: number;
  name: string;
}

const LINE_BREAK = /[\r\n]/g;

export function redactionMarker(name: string): string {
  return `[redacted:${name}]`;
}

/** The forms of one value that must never be shown, line breaks removed; forms shorter than 4 characters are left out. */
export function redactionForms(value: string): string[] {
  const bytes = Buffer.from(value, 'utf8');
  // The whole encodings first: printed on their own, they are hidden to the last character.
  const forms = new Set<string>([value, bytes.toString('base64'), bytes.toString('base64url')]);
  for (const core of base64Cores(bytes)) {
    forms.add(core);
    forms.add(core.replaceAll('+', '-').replaceAll('/', '_'));
  }
  const encoded = encodeURIComponent(value);
  forms.add(encoded);
  forms.add(encoded.replaceAll('%20', '+'));
  forms.add(encoded.replace(/%[0-9A-F]{2}/g, (escape) => escape.toLowerCase()));
  forms.add(JSON.stringify(value).slice(1, -1));
  return [...forms].map((form) => form.replace(LINE_BREAK, '')).filter((form) => form.length >= 4);
}

/**
 * For each alignment of the value in a byte stream (0, 1 or 2 bytes after a 3-byte boundary), the
 * base64 characters whose 6 bits all come from the value: what any encoding that contains the value
 * contains, whatever surrounds it.
 */
function base64Cores(bytes: Buffer): string[] {
  const cores: string[] = [];
  for (let shift = 0; shift < 3; shift += 1) {
    const padded = Buffer.concat([Buffer.alloc(shift), bytes, Buffer.alloc(3)]);
    const encoded = padded.toString('base64');
    const firstBit = 8 * shift;
    const endBit = 8 * (shift + bytes.length);
    const first = Math.ceil(firstBit / 6);
    const last = Math.floor((endBit - 6) / 6);
    if (last >= first) cores.push(encoded.slice(first, last + 1));
  }
  return cores;
}

/** Hides a fixed set of values; build one per set (it is cheap to use, costlier to make). */
export class Redactor {
  private readonly patterns: Pattern[];
  private readonly longest: number;

  constructor(values: readonly NamedValue[]) {
    const byText = new Map<string, string>();
    // Longer values first, so when two values' forms are the same text the longer value names it.
    const sorted = [...values].sort((a, b) => b.value.length - a.value.length || a.name.localeCompare(b.name));
    for (const { name, value } of sorted) {
      for (const form of redactionForms(value)) if (!byText.has(form)) byText.set(form, name);
    }
    this.patterns = [...byText].map(([text, name]) => ({ text, name })).sort((a, b) => b.text.length - a.text.length);
    this.longest = this.patterns[0]?.text.length ?? 0;
  }

  static readonly none = new Redactor([]);

  get isEmpty(): boolean {
    return this.patterns.length === 0;
  }

  /** The text with every value hidden. */
  redact(text: string): string {
    if (this.isEmpty || text === '') return text;
    return this.cut(text, true).emitted;
  }

  /** Every string inside a JSON-like value, hidden (keys are left as they are). */
  redactDeep<T>(value: T): T {
    if (this.isEmpty) return value;
    return this.deep(value) as T;
  }

  private deep(value: unknown): unknown {
    if (typeof value === 'string') return this.redact(value);
    if (Array.isArray(value)) return value.map((item) => this.deep(item));
    if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
      return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, this.deep(item)]));
    }
    return value;
  }

  /** A stream: `push` returns what is safe to show so far, `end` the rest. */
  stream(): RedactionStream {
    return new RedactionStream(this);
  }

  /**
   * Redacts `raw` up to where a form of a value might still be beginning (all of it when `final`), and
   * says where the unshown rest starts.
   */
  cut(raw: string, final: boolean): { emitted: string; rest: string } {
    if (this.isEmpty) return { emitted: raw, rest: '' };
    // Positions in the text without line breaks, and where each of its characters sits in the raw text.
    const at: number[] = [];
    let flat = '';
    for (let i = 0; i < raw.length; i += 1) {
      const char = raw[i]!;
      if (char === '\n' || char === '\r') continue;
      at.push(i);
      flat += char;
    }
    const hold = final ? flat.length : this.holdFrom(flat);
    const matches = this.choose(flat, hold);
    const end = Math.max(hold, matches.at(-1)?.end ?? 0);
    const rawEnd = end >= flat.length ? raw.length : at[end]!;
    let emitted = '';
    let position = 0;
    for (const match of matches) {
      const from = at[match.start]!;
      const to = at[match.end - 1]! + 1;
      const breaks = raw.slice(from, to).replace(/[^\r\n]/g, '');
      emitted += raw.slice(position, from) + redactionMarker(match.name) + breaks;
      position = to;
    }
    emitted += raw.slice(position, rawEnd);
    return { emitted, rest: raw.slice(rawEnd) };
  }

  /** Where the longest tail of `flat` that begins some pattern starts (`flat.length` when none does). */
  private holdFrom(flat: string): number {
    let hold = flat.length;
    for (const { text } of this.patterns) {
      const from = Math.max(0, flat.length - text.length + 1);
      if (from >= hold) continue;
      for (let i = flat.indexOf(text[0]!, from); i !== -1 && i < hold; i = flat.indexOf(text[0]!, i + 1)) {
        if (text.startsWith(flat.slice(i))) {
          hold = i;
          break;
        }
      }
    }
    return hold;
  }

  /** Matches starting before `before`, leftmost first and the longest at each place, none overlapping. */
  private choose(flat: string, before: number): Match[] {
    const found: Match[] = [];
    for (const { text, name } of this.patterns) {
      for (let i = flat.indexOf(text); i !== -1 && i < before; i = flat.indexOf(text, i + 1)) {
        found.push({ start: i, end: i + text.length, name });
      }
    }
    found.sort((a, b) => a.start - b.start || b.end - a.end);
    const chosen: Match[] = [];
    let free = 0;
    for (const match of found) {
      if (match.start < free) continue;
      chosen.push(match);
      free = match.end;
    }
    return chosen;
  }

  /** The longest form looked for: how much a stream may keep back at most. */
  get longestForm(): number {
    return this.longest;
  }
}

/** Redaction across chunks of one stream: a value cut in two by a chunk boundary is still hidden whole. */
export class RedactionStream {
  private pending = '';

  constructor(private readonly redactor: Redactor) {}

  push(chunk: string): string {
    const { emitted, rest } = this.redactor.cut(this.pending + chunk, false);
    this.pending = rest;
    return emitted;
  }

  /** Whether some text is being kept back because it may be the start of a value. */
  get holding(): boolean {
    return this.pending !== '';
  }

  end(): string {
    const { emitted } = this.redactor.cut(this.pending, true);
    this.pending = '';
    return emitted;
  }
}
