import { StringDecoder } from 'node:string_decoder';

/** Longer lines are cut into pieces of this many characters, so a process that never prints a newline cannot fill memory. */
export const MAX_LINE_CHARS = 16 * 1024;

/**
 * Turns a byte stream into lines: `\n`, `\r\n` and a lone `\r` (progress bars) all end a line, a
 * UTF-8 character split across chunks stays whole, and the last line is emitted even without a
 * newline once the stream ends.
 */
export class LineSplitter {
  private pending = '';
  private readonly decoder = new StringDecoder('utf8');

  constructor(
    private readonly emit: (line: string) => void,
    private readonly maxLineChars = MAX_LINE_CHARS,
  ) {}

  push(chunk: Buffer): void {
    this.split(this.pending + this.decoder.write(chunk), false);
  }

  end(): void {
    this.split(this.pending + this.decoder.end(), true);
  }

  private split(text: string, final: boolean): void {
    const parts = text.split(/\r\n|\n|\r/);
    let rest = parts.pop() ?? '';
    // A trailing '\r' may be the first half of '\r\n' in the next chunk.
    if (!final && text.endsWith('\r')) {
      const last = parts.pop() ?? '';
      rest = `${last}\r`;
    }
    for (const line of parts) this.emitCapped(line);
    while (rest.length > this.maxLineChars) {
      this.emit(rest.slice(0, this.maxLineChars));
      rest = rest.slice(this.maxLineChars);
    }
    if (final) {
      if (rest !== '') this.emit(rest);
      this.pending = '';
    } else {
      this.pending = rest;
    }
  }

  private emitCapped(line: string): void {
    for (let start = 0; start < line.length; start += this.maxLineChars) this.emit(line.slice(start, start + this.maxLineChars));
    if (line === '') this.emit('');
  }
}
