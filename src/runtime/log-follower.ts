import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';

const MAX_READ_BYTES = 1024 * 1024;

/**
 * `tail -f` for one log file: polls its size, hands over complete lines, and starts again from the top
 * when rotation truncated the file.
 */
export class LogFollower {
  private offset: number;
  private pending = '';
  private decoder = new StringDecoder('utf8');
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly file: string,
    private readonly onLine: (line: string) => void,
    pollMs = 200,
  ) {
    this.offset = sizeOf(file);
    this.timer = setInterval(() => this.drain(), pollMs);
    this.timer.unref();
  }

  /** Reads everything written since the last call; rotation calls it just before truncating. */
  drain(): void {
    const size = sizeOf(this.file);
    if (size < this.offset) this.rewind();
    while (this.offset < size) {
      const length = Math.min(MAX_READ_BYTES, size - this.offset);
      const buffer = Buffer.alloc(length);
      let read = 0;
      try {
        const fd = openSync(this.file, 'r');
        try {
          read = readSync(fd, buffer, 0, length, this.offset);
        } finally {
          closeSync(fd);
        }
      } catch {
        return;
      }
      if (read === 0) return;
      this.offset += read;
      this.emitLines(this.decoder.write(buffer.subarray(0, read)));
    }
  }

  /** The file was truncated: what follows starts at its beginning. */
  rewind(): void {
    this.offset = 0;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private emitLines(text: string): void {
    const parts = (this.pending + text).split('\n');
    this.pending = parts.pop() ?? '';
    for (const line of parts) {
      try {
        this.onLine(line);
      } catch {
        // A failing subscriber must not stop the others or the polling.
      }
    }
  }
}

function sizeOf(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}
