import type { Logger } from '../common/index.js';
import type { ControlPlane } from '../server/control-plane.js';
import type { Store } from '../store/index.js';

/** What the API's route plugins are given. */
export interface ApiContext {
  plane: ControlPlane;
  store: Store;
  logger: Logger;
  maxUploadBytes: number;
  version: string;
}
