import type { Duplex } from 'node:stream';
import { CLOSE_GOING_AWAY, FrameBoundary, closeFrame } from './websocket-frames.js';

const GOING_AWAY_REASON = 'going away';

/**
 * Copies one direction of an upgraded connection, with backpressure like `pipe`. For a WebSocket it
 * follows the frames, so that when asked to stop it lets the frame under way through, then sends a
 * close frame and ends the destination; whatever the peer sends after that is read and dropped, so
 * its end (or the cap timer) still closes the connection.
 */
class Pump {
  private readonly boundary: FrameBoundary | undefined;
  private stopping = false;
  private cut = false;

  constructor(
    private readonly from: Duplex,
    private readonly to: Duplex,
    private readonly closing: Buffer | undefined,
  ) {
    this.boundary = closing ? new FrameBoundary() : undefined;
    from.on('data', (chunk: Buffer) => this.onData(chunk));
    from.on('end', () => this.end(false));
    to.on('drain', () => from.resume());
    from.resume();
  }

  /** Bytes that went to the destination before this pump existed (they may hold frames). */
  alreadySent(bytes: Buffer): void {
    this.boundary?.advance(bytes);
  }

  stop(): void {
    if (this.stopping) return;
    this.stopping = true;
    if (!this.boundary || this.boundary.atBoundary) this.end(true);
    else this.from.resume();
  }

  private onData(chunk: Buffer): void {
    if (this.cut) return;
    if (this.stopping) {
      const through = this.boundary ? this.boundary.finishFrame(chunk) : 0;
      if (through > 0) this.to.write(chunk.subarray(0, through));
      if (!this.boundary || this.boundary.atBoundary) this.end(true);
      return;
    }
    this.boundary?.advance(chunk);
    if (!this.to.write(chunk)) this.from.pause();
  }

  private end(goingAway: boolean): void {
    if (this.cut) return;
    this.cut = true;
    this.from.resume();
    if (this.to.destroyed || this.to.writableEnded) return;
    this.to.end(goingAway && this.closing ? this.closing : undefined);
  }
}

export interface UpgradedConnectionInput {
  revision: string;
  /** The replica's `host:port`. */
  upstreamAddress: string;
  client: Duplex;
  upstream: Duplex;
  /** The upstream answered 101: the connection counts as open (a refused handshake only lingers until it closes). */
  switched: boolean;
  /** A switched WebSocket: closed with close frames (1001) rather than a bare TCP end. */
  websocket: boolean;
  /** Bytes the client sent after its request head, already forwarded to the upstream. */
  sentToUpstream: Buffer;
  /** Bytes the upstream sent after its answer head, not yet forwarded to the client. */
  pendingToClient: Buffer;
  /** Called once when both sockets are closed. */
  onClosed: () => void;
}

/** An upgraded client connection joined to its upstream connection until either side closes. */
class UpgradedConnection {
  readonly revision: string;
  readonly upstreamAddress: string;
  readonly switched: boolean;
  readonly closed: Promise<void>;
  private goingAway = false;
  private cap: NodeJS.Timeout | undefined;
  private readonly toClient: Pump;
  private readonly toUpstream: Pump;

  constructor(private readonly input: UpgradedConnectionInput) {
    const { client, upstream, websocket } = input;
    this.revision = input.revision;
    this.upstreamAddress = input.upstreamAddress;
    this.switched = input.switched;
    this.toClient = new Pump(upstream, client, websocket ? closeFrame(CLOSE_GOING_AWAY, GOING_AWAY_REASON, false) : undefined);
    this.toUpstream = new Pump(client, upstream, websocket ? closeFrame(CLOSE_GOING_AWAY, GOING_AWAY_REASON, true) : undefined);
    this.toUpstream.alreadySent(input.sentToUpstream);
    if (input.pendingToClient.length > 0) {
      this.toClient.alreadySent(input.pendingToClient);
      client.write(input.pendingToClient);
    }
    this.closed = new Promise((resolve) => {
      let open = 2;
      const onClose = (other: Duplex): void => {
        // Normally one side closing ends the other; while going away, the other side first gets to flush its close frame.
        if (!this.goingAway || other.writableFinished) other.destroy();
        else other.once('finish', () => other.destroy());
        open -= 1;
        if (open > 0) return;
        clearTimeout(this.cap);
        input.onClosed();
        resolve();
      };
      if (client.destroyed) onClose(upstream);
      else client.once('close', () => onClose(upstream));
      if (upstream.destroyed) onClose(client);
      else upstream.once('close', () => onClose(client));
    });
  }

  /** Close both sides (close frames for a WebSocket); whatever is still open after `capMs` is destroyed. */
  goAway(capMs: number): Promise<void> {
    if (!this.goingAway) {
      this.goingAway = true;
      this.toClient.stop();
      this.toUpstream.stop();
      this.cap = setTimeout(() => this.destroy(), capMs);
      this.cap.unref();
    }
    return this.closed;
  }

  private destroy(): void {
    this.input.client.destroy();
    this.input.upstream.destroy();
  }
}

/** Which connections to close: a revision's, or only those of its replicas at these addresses. */
export interface ConnectionSelector {
  revision: string;
  upstreams?: string[];
}

/** The router's open upgraded connections, by revision and replica, so a retired one's can be closed last. */
export class UpgradedConnections {
  private readonly open = new Set<UpgradedConnection>();

  track(input: UpgradedConnectionInput): void {
    const connection = new UpgradedConnection(input);
    this.open.add(connection);
    void connection.closed.then(() => this.open.delete(connection));
  }

  /** Open switched connections (WebSockets) per replica address, counted like the per-revision gauge. */
  countByUpstream(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const connection of this.open) {
      if (connection.switched) counts[connection.upstreamAddress] = (counts[connection.upstreamAddress] ?? 0) + 1;
    }
    return counts;
  }

  /**
   * Close the selected connections (every one when `which` is undefined) with "going away"; resolves
   * with how many once they are closed, at most about `capMs` later.
   */
  async goAway(which: ConnectionSelector | undefined, capMs: number): Promise<number> {
    const upstreams = which?.upstreams === undefined ? undefined : new Set(which.upstreams);
    const chosen = [...this.open].filter(
      (connection) =>
        which === undefined || (connection.revision === which.revision && (upstreams === undefined || upstreams.has(connection.upstreamAddress))),
    );
    await Promise.all(chosen.map((connection) => connection.goAway(capMs)));
    return chosen.length;
  }
}
