/**
 * The pushes whose http-backend is running, each with the one-time token its pre-receive hook uses to
 * reach Maestro. A token is good for one hook call, and only until its push's http-backend ends.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { AccessDecision, Permission } from '../identity/index.js';

export interface PushSession {
  project: string;
  repository: string;
  actor: string;
  /** Whether the pusher holds a permission on the project (what a pushed ref deploys needs). */
  permits: (permission: Permission) => AccessDecision;
  /** Aborted when the push is cut off (the client or the hook went away) before Maestro answered. */
  readonly controller: AbortController;
  /** Set once the hook has called: a token is never good twice. */
  hookCalled: boolean;
  /** Set once the hook has its verdict: from then on, nothing is cut off. */
  answered: boolean;
}

const digest = (token: string): string => createHash('sha256').update(token).digest('hex');

export class PushSessions {
  private readonly sessions = new Map<string, PushSession>();

  /** Starts a session; returns its token (for the hook's environment) and a function that ends it. */
  open(details: { project: string; repository: string; actor: string; permits: (permission: Permission) => AccessDecision }): { token: string; session: PushSession; close: () => void } {
    const token = `mgp_${randomBytes(32).toString('base64url')}`;
    const key = digest(token);
    const session: PushSession = { ...details, controller: new AbortController(), hookCalled: false, answered: false };
    this.sessions.set(key, session);
    return { token, session, close: () => this.sessions.delete(key) };
  }

  /** The open session of this token (looked up by its hash, so timing says nothing about the tokens). */
  find(token: string): PushSession | undefined {
    return this.sessions.get(digest(token));
  }

  get size(): number {
    return this.sessions.size;
  }
}
