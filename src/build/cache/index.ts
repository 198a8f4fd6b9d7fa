/**
 * Build caches: keys (pure), the digest of a service's build inputs, the dependency and build
 * output cache with LRU eviction and checksum-verified restores, the work folder's layout (where Go
 * and Cargo download to), and the data directory's disk ceiling.
 */
export {
  dependencyKey,
  buildOutputKey,
  currentPlatform,
  canonicalJson,
  type DependencyKeyInput,
  type BuildOutputKeyInput,
  type LockfileDigest,
} from './keys.js';
export { serviceInputsDigest, serviceWorkspaces, type ServiceInputs } from './inputs.js';
export { serviceCacheKeys, dependencyPathsFor, type ServiceCacheKeys, type ServiceCacheKeysInput } from './service-keys.js';
export { findLockfiles, isLockfileName, toolchainKindsFor, LOCKFILE_NAMES } from './lockfiles.js';
export { toolchainVersions, TOOLCHAIN_KINDS, NOT_INSTALLED } from './toolchain.js';
export {
  cachedToolsFor,
  cachedToolsOf,
  toolCacheEnvironment,
  toolCachePaths,
  workFolders,
  WORK_HOME_FOLDER,
  WORK_SOURCE_FOLDER,
  type CachedTool,
} from './tool-caches.js';
export { matchWorkspaceFolders, workspaceDependencies, type PackageFacts, type WorkspaceMember } from './workspace.js';
export {
  BuildCache,
  DEFAULT_OUTPUT_EXCLUDES,
  type BuildCacheOptions,
  type CacheStats,
  type KindStats,
  type RestoreResult,
  type SaveOutcome,
  type VerifyReport,
} from './build-cache.js';
export { CACHE_KINDS, type CacheKind } from './cache-index.js';
export { planLruEviction, archiveBytes, type LruCandidate, type LruPlan } from './lru.js';
export {
  enforceDiskCeiling,
  measureDataUsage,
  planEviction,
  MAESTRO_DATA_FOLDERS,
  type DiskEvictor,
  type DiskCeilingReport,
  type DataUsage,
  type EvictionPlan,
  type EvictionRequest,
  type EvictionStep,
  type EnforceDiskCeilingInput,
} from './disk-guard.js';
export { formatCacheStats } from './format-stats.js';
