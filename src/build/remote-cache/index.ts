/** The remote cache for the developers' own Turborepo and Nx builds: HTTP routes, limits and eviction. */
export { remoteCacheRoutes } from './routes.js';
export { RemoteCache, type CacheHit, type CacheUpload } from './remote-cache.js';
export { evictRemoteCache, type EvictRemoteCacheOptions, type EvictRemoteCacheResult } from './evict.js';
export { planEviction, type EvictionCandidate, type EvictionPolicy } from './eviction-plan.js';
export {
  DEFAULT_REMOTE_CACHE_SETTINGS,
  REMOTE_CACHE_ENV,
  artifactLimit,
  remoteCacheRoot,
  remoteCacheSettingsFromEnv,
  type RemoteCacheSettings,
} from './settings.js';
export { HASH_PATTERN, MAX_HASH_LENGTH, isCacheHash, turboNamespace, turboProject } from './cache-key.js';
export { limitBody } from './limit-body.js';
