import { Readable } from 'node:stream';
import type { IncomingMessage } from 'node:http';

/**
 * The client's request body as a stream for the upstream client, with two guarantees the raw
 * IncomingMessage doesn't give:
 * - `started` says whether any byte has been taken from the client yet; until then a failed attempt can be
 *   retried on another upstream with the body intact.
 * - destroying this stream (undici does when an upstream fails mid-upload) leaves the client's connection
 *   alone, so the router can still answer it with a 502.
 */
export class RequestBody extends Readable {
  started = false;

  constructor(private readonly source: IncomingMessage) {
    super({ highWaterMark: 64 * 1024 });
  }

  private readonly onData = (chunk: Buffer): void => {
    if (!this.push(chunk)) this.source.pause();
  };
  private readonly onEnd = (): void => {
    this.push(null);
  };
  private readonly onError = (error: Error): void => {
    this.destroy(error);
  };

  override _read(): void {
    if (this.started) {
      this.source.resume();
      return;
    }
    this.started = true;
    this.source.on('data', this.onData);
    this.source.on('end', this.onEnd);
    this.source.on('error', this.onError);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.source.off('data', this.onData);
    this.source.off('end', this.onEnd);
    this.source.off('error', this.onError);
    this.source.pause();
    callback(error);
  }
}
