import { request } from 'undici';
import { errorMessage } from '../common/index.js';

/** How long a request for a sleeping environment waits for it to wake before a 503. */
export const WAKE_WAIT_MS = 60_000;
/** While waiting, the control plane is asked again this often (a lost or refused ask is retried). */
const ASK_AGAIN_MS = 5_000;

export interface WakeOptions {
  /** Sent as `Authorization: Bearer <token>`: the router's admin token, which the control plane knows. */
  token?: string;
  waitMs?: number;
  /** How the control plane is asked; a POST of `{ host }` by default. */
  ask?: (url: string, host: string) => Promise<void>;
  onError?: (host: string, message: string) => void;
}

/**
 * Requests for a sleeping preview (a route with `wakeUrl` and nothing healthy behind it) are held here:
 * the control plane is asked once to start the environment again, and every held request goes on as soon
 * as a route table arrives in which its host can be served, or gets a 503 when waking takes too long.
 */
export class Waker {
  private readonly waiting = new Map<string, Set<() => void>>();
  private readonly askedAt = new Map<string, number>();

  constructor(private readonly options: WakeOptions = {}) {}

  /** A new table was applied: every held request looks again. */
  tableApplied(): void {
    for (const listeners of this.waiting.values()) for (const listener of [...listeners]) listener();
  }

  /** Held requests, for stats and tests. */
  held(): number {
    let count = 0;
    for (const listeners of this.waiting.values()) count += listeners.size;
    return count;
  }

  /**
   * Resolves with what `ready` returns once it returns something (checked now and on every new table), or
   * undefined when the wait is over or `signal` aborts (the client went away).
   */
  hold<T>(host: string, wakeUrl: string, ready: () => T | undefined, signal: AbortSignal): Promise<T | undefined> {
    const now = ready();
    if (now !== undefined) return Promise.resolve(now);
    return new Promise((resolve) => {
      const listeners = this.waiting.get(host) ?? new Set<() => void>();
      this.waiting.set(host, listeners);
      const finish = (value: T | undefined): void => {
        clearTimeout(timer);
        clearInterval(again);
        signal.removeEventListener('abort', onAbort);
        listeners.delete(check);
        if (listeners.size === 0) this.waiting.delete(host);
        resolve(value);
      };
      const check = (): void => {
        const value = ready();
        if (value !== undefined) finish(value);
      };
      const onAbort = (): void => finish(undefined);
      const timer = setTimeout(() => finish(undefined), this.options.waitMs ?? WAKE_WAIT_MS);
      const again = setInterval(() => this.ask(host, wakeUrl, true), ASK_AGAIN_MS);
      listeners.add(check);
      signal.addEventListener('abort', onAbort, { once: true });
      this.ask(host, wakeUrl, false);
    });
  }

  private ask(host: string, wakeUrl: string, retry: boolean): void {
    const last = this.askedAt.get(host) ?? 0;
    if (!retry && Date.now() - last < ASK_AGAIN_MS) return;
    this.askedAt.set(host, Date.now());
    const ask = this.options.ask ?? ((url: string, name: string) => postWake(url, name, this.options.token));
    ask(wakeUrl, host).catch((error: unknown) => this.options.onError?.(host, errorMessage(error)));
  }
}

async function postWake(url: string, host: string, token: string | undefined): Promise<void> {
  const response = await request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ host }),
    headersTimeout: 10_000,
    bodyTimeout: 10_000,
  });
  const body = await response.body.text();
  if (response.statusCode >= 300) throw new Error(`the control plane answered ${response.statusCode}: ${body.slice(0, 200)}`);
}
