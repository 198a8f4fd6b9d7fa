/** The last lines a step printed, kept for error messages and for the record of a failed step. */
export class LogTail {
  private readonly lines: string[] = [];
  private lastNonEmpty: string | undefined;

  constructor(private readonly capacity = 50) {}

  add(line: string): void {
    this.lines.push(line);
    if (this.lines.length > this.capacity) this.lines.shift();
    if (line.trim() !== '') this.lastNonEmpty = line;
  }

  /** The last line with something on it, for one-line error messages. */
  get lastLine(): string | undefined {
    return this.lastNonEmpty;
  }

  snapshot(): string[] {
    return [...this.lines];
  }
}

/**
 * Hides secret values in log lines: builds print their environment more often than anyone
 * intends. Longer values first, so a secret that contains another is hidden whole.
 */
export function redactor(secretValues: readonly string[] = []): (line: string) => string {
  // Logs arrive line by line, so a multi-line secret (a PEM key) is hidden line by line too.
  const pieces = secretValues.flatMap((value) => (/[\r\n]/.test(value) ? value.split(/\r\n|\n|\r/).filter((line) => line.trim().length >= 8) : [value]));
  const values = [...new Set(pieces.filter((value) => value !== ''))].sort((a, b) => b.length - a.length);
  if (values.length === 0) return (line) => line;
  return (line) => values.reduce((text, value) => text.split(value).join('***'), line);
}
