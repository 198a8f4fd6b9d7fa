import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CLOSE_GOING_AWAY, FrameBoundary, closeFrame } from '../../src/router/index.js';
import { decodeFrame } from './support.js';

/** Any frame header form: 7-bit, 16-bit and 64-bit lengths, masked or not. */
function encode(opcode: number, fin: boolean, payloadLength: number, masked: boolean, forceLong: boolean): Buffer {
  const first = (fin ? 0x80 : 0) | opcode;
  const mask = masked ? 0x80 : 0;
  let head: Buffer;
  if (forceLong || payloadLength > 0xffff) {
    head = Buffer.alloc(10);
    head[1] = mask | 127;
    head.writeBigUInt64BE(BigInt(payloadLength), 2);
  } else if (payloadLength >= 126) {
    head = Buffer.alloc(4);
    head[1] = mask | 126;
    head.writeUInt16BE(payloadLength, 2);
  } else {
    head = Buffer.alloc(2);
    head[1] = mask | payloadLength;
  }
  head[0] = first;
  return Buffer.concat([head, masked ? Buffer.from([1, 2, 3, 4]) : Buffer.alloc(0), Buffer.alloc(payloadLength, 0x61)]);
}

const frameArbitrary = fc.record({
  opcode: fc.constantFrom(0x0, 0x1, 0x2, 0x9, 0xa),
  fin: fc.boolean(),
  // Mostly small; now and then one past 65535, which needs the 64-bit length form.
  length: fc.oneof(
    { arbitrary: fc.integer({ min: 0, max: 125 }), weight: 10 },
    { arbitrary: fc.integer({ min: 126, max: 400 }), weight: 5 },
    { arbitrary: fc.constant(70_000), weight: 1 },
  ),
  masked: fc.boolean(),
  forceLong: fc.boolean(),
});

describe('following WebSocket frame boundaries', () => {
  it('property: however the bytes are cut into chunks, it is at a boundary exactly where a frame ends', () => {
    fc.assert(
      fc.property(fc.array(frameArbitrary, { minLength: 1, maxLength: 6 }), fc.array(fc.integer({ min: 1, max: 5000 }), { minLength: 1, maxLength: 8 }), (frames, cuts) => {
        const encoded = frames.map((frame) => encode(frame.opcode, frame.fin, frame.length, frame.masked, frame.forceLong));
        const stream = Buffer.concat(encoded);
        const ends = new Set<number>([0]);
        let position = 0;
        for (const frame of encoded) ends.add((position += frame.length));

        // Fed chunk by chunk: at each chunk end, the boundary flag says whether a frame just ended.
        const boundary = new FrameBoundary();
        let offset = 0;
        for (let index = 0; offset < stream.length; index++) {
          const size = cuts[index % cuts.length]!;
          const chunk = stream.subarray(offset, offset + size);
          boundary.advance(chunk);
          offset += chunk.length;
          expect(boundary.atBoundary).toBe(ends.has(offset));
        }

        // finishFrame stops at the next frame end, wherever the current chunk starts.
        const stepper = new FrameBoundary();
        let at = 0;
        const chunkSize = Math.max(cuts[0]!, 64);
        while (at < stream.length) {
          const chunk = stream.subarray(at, at + chunkSize);
          if (stepper.atBoundary) {
            stepper.advance(chunk.subarray(0, 1));
            at += 1;
            continue;
          }
          const taken = stepper.finishFrame(chunk);
          at += taken;
          if (taken < chunk.length) expect(ends.has(at)).toBe(true);
          expect(stepper.atBoundary).toBe(ends.has(at));
        }
      }),
      { numRuns: 150 },
    );
  });

  it('writes close frames with the code and reason, unmasked to clients and masked to servers', () => {
    for (const masked of [false, true]) {
      const frame = closeFrame(CLOSE_GOING_AWAY, 'going away', masked);
      const decoded = decodeFrame(frame)!;
      expect(decoded.opcode).toBe(0x8);
      expect(decoded.length).toBe(frame.length);
      expect(decoded.payload.readUInt16BE(0)).toBe(1001);
      expect(decoded.payload.subarray(2).toString()).toBe('going away');
      expect((frame[1]! & 0x80) !== 0).toBe(masked);
    }
  });
});
