import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { ApiContext } from '../../api/index.js';
import { errorMessage } from '../../common/index.js';
import { evictRemoteCache } from './evict.js';
import { nxRoutes } from './nx-routes.js';
import { RemoteCache } from './remote-cache.js';
import { remoteCacheSettingsFromEnv, type RemoteCacheSettings } from './settings.js';
import { turboRoutes } from './turbo-routes.js';

/** How often the whole cache is judged by age and total size, and swept of blobs no entry names. */
const EVICTION_INTERVAL_MS = 10 * 60_000;

/**
 * The remote cache for the developers' own Turborepo and Nx builds, on the API port and behind the
 * API's bearer tokens. Settings come from MAESTRO_REMOTE_CACHE_* variables unless given here.
 */
export function remoteCacheRoutes(context: ApiContext, options: Partial<RemoteCacheSettings> = {}): FastifyPluginAsyncZod {
  return async (app) => {
    const settings: RemoteCacheSettings = { ...remoteCacheSettingsFromEnv(process.env), ...options };
    const cache = new RemoteCache(context.store, context.plane.paths.root, settings, context.logger);

    // Artifacts stream straight to disk: the body stays the raw request stream, whatever its type says.
    app.addContentTypeParser('application/octet-stream', (_request, payload, done) => done(null, payload));
    app.addContentTypeParser('*', (_request, payload, done) => done(null, payload));

    await app.register(turboRoutes(cache));
    await app.register(nxRoutes(cache, context.logger));

    const timer = setInterval(() => {
      evictRemoteCache({
        store: context.store,
        dataDir: context.plane.paths.root,
        maxBytes: settings.maxTotalBytes,
        maxAgeMs: settings.maxAgeMs,
        namespaceQuotaBytes: settings.namespaceQuotaBytes,
      }).catch((error: unknown) => context.logger.error({ err: errorMessage(error) }, 'remote cache eviction failed'));
    }, EVICTION_INTERVAL_MS);
    timer.unref();
    app.addHook('onClose', async () => clearInterval(timer));
  };
}
