/** The remote cache's limits, from options or the MAESTRO_REMOTE_CACHE_* environment variables. */
import { join } from 'node:path';
import { MaestroError, parseDuration, parseSize } from '../../common/index.js';
import { checkNamespace } from './cache-key.js';

export interface RemoteCacheSettings {
  /** Largest single artifact accepted (413 past it). */
  maxArtifactBytes: number;
  /** Bytes one namespace may hold; least recently used entries go past it. */
  namespaceQuotaBytes: number;
  /** Bytes the whole cache may hold, across namespaces; unlimited when absent. */
  maxTotalBytes?: number;
  /** Entries not read or written for this long go; kept forever when absent. */
  maxAgeMs?: number;
  /** The project that `/nx/v1/cache/...` (no project in the path) stores into. */
  nxNamespace: string;
}

export const DEFAULT_REMOTE_CACHE_SETTINGS: Readonly<RemoteCacheSettings> = {
  maxArtifactBytes: 512 * 1024 ** 2,
  namespaceQuotaBytes: 10 * 1024 ** 3,
  nxNamespace: 'nx',
};

export const REMOTE_CACHE_ENV = {
  maxArtifactBytes: 'MAESTRO_REMOTE_CACHE_MAX_ARTIFACT',
  namespaceQuotaBytes: 'MAESTRO_REMOTE_CACHE_QUOTA',
  maxTotalBytes: 'MAESTRO_REMOTE_CACHE_MAX_TOTAL',
  maxAgeMs: 'MAESTRO_REMOTE_CACHE_MAX_AGE',
  nxNamespace: 'MAESTRO_REMOTE_CACHE_NX_PROJECT',
} as const;

/** Where the cache's blobs live under the data directory. */
export function remoteCacheRoot(dataDir: string): string {
  return join(dataDir, 'remote-cache');
}

/** The defaults, overridden by whichever MAESTRO_REMOTE_CACHE_* variables are set; a bad value says how to fix it. */
export function remoteCacheSettingsFromEnv(env: Record<string, string | undefined>): RemoteCacheSettings {
  const settings: RemoteCacheSettings = { ...DEFAULT_REMOTE_CACHE_SETTINGS };
  const size = (key: 'maxArtifactBytes' | 'namespaceQuotaBytes' | 'maxTotalBytes'): void => {
    const text = env[REMOTE_CACHE_ENV[key]];
    if (text === undefined || text === '') return;
    const bytes = parseSize(text);
    if (bytes === undefined || bytes < 1) {
      throw new MaestroError('validation_error', `${REMOTE_CACHE_ENV[key]}="${text}" is not a size: write it like 512Mi, 10Gi or 1000000`);
    }
    settings[key] = bytes;
  };
  size('maxArtifactBytes');
  size('namespaceQuotaBytes');
  size('maxTotalBytes');
  const age = env[REMOTE_CACHE_ENV.maxAgeMs];
  if (age !== undefined && age !== '') {
    const ms = parseDuration(age);
    if (ms === undefined || ms < 1) {
      throw new MaestroError('validation_error', `${REMOTE_CACHE_ENV.maxAgeMs}="${age}" is not a duration: write it like 7d, 12h or 30m`);
    }
    settings.maxAgeMs = ms;
  }
  const nx = env[REMOTE_CACHE_ENV.nxNamespace];
  if (nx !== undefined && nx !== '') settings.nxNamespace = checkNamespace(nx, REMOTE_CACHE_ENV.nxNamespace);
  return settings;
}

/** The largest artifact a namespace can take: one larger than its whole quota could never stay. */
export function artifactLimit(settings: RemoteCacheSettings): number {
  return Math.min(settings.maxArtifactBytes, settings.namespaceQuotaBytes, settings.maxTotalBytes ?? Infinity);
}
