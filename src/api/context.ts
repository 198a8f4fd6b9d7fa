import type { Logger } from '../common/index.js';
import type { OrganisationPolicies } from '../policy/index.js';
import type { PushReceiver } from '../git/index.js';
import type { ControlPlane } from '../server/control-plane.js';
import type { Store } from '../store/index.js';
import type { RateLimits } from './rate-limits.js';

/** What the API's route plugins are given. */
export interface ApiContext {
  plane: ControlPlane;
  store: Store;
  logger: Logger;
  maxUploadBytes: number;
  version: string;
  /** Takes `git push`es to /git/<project>.git; without one, Maestro's git remote refuses pushes (fetches still work). */
  pushReceiver?: PushReceiver;
  /** URL schemes a provider delivery's clone URL may use; https and http when absent. */
  hookFetchProtocols?: string[];
  /** The organisation's policies and the defaults (`maestro up --policies`); the defaults alone when absent. */
  policies?: OrganisationPolicies;
  /** Requests a minute per token and per address (`maestro up --rate-limit-*`); DEFAULT_RATE_LIMITS when absent. */
  rateLimits?: RateLimits;
}
