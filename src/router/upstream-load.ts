/**
 * HTTP requests in flight per upstream address (one replica), so a single replica can be drained
 * while the rest of its revision keeps serving.
 */
export class UpstreamLoad {
  private readonly counts = new Map<string, number>();

  /** A request was sent to `upstream`; call the returned function once when it is over. */
  begin(upstream: string): () => void {
    this.counts.set(upstream, (this.counts.get(upstream) ?? 0) + 1);
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      const left = (this.counts.get(upstream) ?? 1) - 1;
      if (left > 0) this.counts.set(upstream, left);
      else this.counts.delete(upstream);
    };
  }

  /** Upstreams with requests in flight, and how many. */
  inFlight(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }
}
