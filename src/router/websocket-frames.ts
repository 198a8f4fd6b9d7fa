import { randomBytes } from 'node:crypto';

/** RFC 6455 §7.4.1: the endpoint is going away (a server shutting down, a revision being retired). */
export const CLOSE_GOING_AWAY = 1001;

/**
 * Follows a WebSocket byte stream (RFC 6455 §5.2) just enough to know where frames end, so the router
 * can slip a close frame in between two frames without parsing or buffering any payload. Control
 * frames may come between the fragments of a message (§5.4), so any frame end will do.
 */
export class FrameBoundary {
  // The current frame's header, while it is still arriving (at most 14 bytes).
  private header: number[] = [];
  // Payload bytes of the current frame not seen yet.
  private remaining = 0;

  get atBoundary(): boolean {
    return this.header.length === 0 && this.remaining === 0;
  }

  /** Take in bytes that pass through. */
  advance(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length) offset += this.step(chunk, offset);
  }

  /**
   * Take in bytes only up to the end of the frame under way; returns how many that is (0 when already
   * at a boundary, `chunk.length` when the frame goes on past this chunk).
   */
  finishFrame(chunk: Buffer): number {
    let offset = 0;
    while (offset < chunk.length && !this.atBoundary) offset += this.step(chunk, offset);
    return offset;
  }

  private step(chunk: Buffer, offset: number): number {
    if (this.remaining > 0) {
      const taken = Math.min(this.remaining, chunk.length - offset);
      this.remaining -= taken;
      return taken;
    }
    this.header.push(chunk[offset]!);
    if (this.header.length === headerLength(this.header)) {
      this.remaining = payloadLength(this.header);
      this.header = [];
    }
    return 1;
  }
}

/** Bytes in a frame header, known once its first two bytes are: 2, plus 2 or 8 of length, plus 4 of mask. */
function headerLength(header: number[]): number {
  if (header.length < 2) return 2;
  const length = header[1]! & 0x7f;
  const extended = length === 126 ? 2 : length === 127 ? 8 : 0;
  const mask = (header[1]! & 0x80) !== 0 ? 4 : 0;
  return 2 + extended + mask;
}

function payloadLength(header: number[]): number {
  const length = header[1]! & 0x7f;
  if (length < 126) return length;
  const bytes = Buffer.from(header.slice(2, length === 126 ? 4 : 10));
  return length === 126 ? bytes.readUInt16BE(0) : Number(bytes.readBigUInt64BE(0));
}

/**
 * A close frame with a status code and a short reason. Frames to a server are masked (a client's), frames
 * to a client are not (§5.1).
 */
export function closeFrame(code: number, reason: string, masked: boolean): Buffer {
  const text = Buffer.from(reason, 'utf8').subarray(0, 123);
  const payload = Buffer.alloc(2 + text.length);
  payload.writeUInt16BE(code, 0);
  text.copy(payload, 2);
  const head = Buffer.from([0x88, (masked ? 0x80 : 0) | payload.length]);
  if (!masked) return Buffer.concat([head, payload]);
  const mask = randomBytes(4);
  return Buffer.concat([head, mask, Buffer.from(payload.map((byte, index) => byte ^ mask[index % 4]!))]);
}
