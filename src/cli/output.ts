/** Progress goes to stderr and only to a terminal; results go to stdout, as JSON with --json. */
export interface Output {
  json: boolean;
  progress(line: string): void;
  result(value: unknown, human: () => string | string[]): void;
  error(message: string): void;
}

export function createOutput(options: { json?: boolean }): Output {
  const json = Boolean(options.json);
  const interactive = Boolean(process.stderr.isTTY) && !json;
  return {
    json,
    progress(line) {
      if (interactive) process.stderr.write(`${line}\n`);
    },
    result(value, human) {
      if (json) {
        process.stdout.write(JSON.stringify(value, null, 2) + '\n');
        return;
      }
      const text = human();
      process.stdout.write((Array.isArray(text) ? text.join('\n') : text) + '\n');
    },
    error(message) {
      process.stderr.write(`error: ${message}\n`);
    },
  };
}

/** A fixed-width table for terminals. */
export function table(rows: string[][]): string[] {
  if (rows.length === 0) return [];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length)));
  return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd());
}
