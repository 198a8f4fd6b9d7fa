import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import swagger from '@fastify/swagger';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { remoteCacheRoutes } from '../build/remote-cache/index.js';
import { gitHttpBackend } from '../git/index.js';
import { registerAuth } from './auth.js';
import { DEFAULT_RATE_LIMITS, registerRateLimits } from './rate-limits.js';
import { authRoutes } from './routes/auth.js';
import { tokenRoutes } from './routes/tokens.js';
import { userRoutes } from './routes/users.js';
import type { ApiContext } from './context.js';
import { registerErrorHandling } from './errors.js';
import { buildRoutes } from './routes/builds.js';
import { deploymentRoutes } from './routes/deployments.js';
import { eventRoutes } from './routes/events.js';
import { gitHostRoutes } from './routes/git-hosts.js';
import { DEFAULT_FETCH_OPTIONS } from '../git-hosts/index.js';
import { CSRF_HEADER, SESSION_COOKIE } from '../identity/index.js';
import { MaestroError } from '../common/index.js';
import { routerWakeRoutes } from './routes/router-wake.js';
import { previewRoutes } from './routes/previews.js';
import { sbomRoutes } from './routes/sboms.js';
import { policyRoutes } from './routes/policies.js';
import { projectRoutes } from './routes/projects.js';
import { serviceRoutes } from './routes/services.js';
import { sourceRoutes } from './routes/sources.js';
import { attestationRoutes } from './routes/attestations.js';
import { vulnerabilityRoutes } from './routes/vulnerabilities.js';

/** The control plane's REST API: routes by resource, schemas in zod, OpenAPI from the same schemas. */
export async function buildApi(context: ApiContext): Promise<FastifyInstance> {
  const app = Fastify({
    logger: false,
    bodyLimit: 1024 * 1024,
    forceCloseConnections: true,
    // A URL the router cannot read (a path segment past 100 characters, broken percent-encoding) gets the API's error shape too.
    frameworkErrors: (error, _request, reply) => {
      const message = error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'a part of the path is longer than the 100 characters this API reads' : 'the URL is not valid: check its percent-encoding';
      return (reply as unknown as FastifyReply).status(error.statusCode ?? 400).send(new MaestroError('bad_request', message).toJSON());
    },
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  registerErrorHandling(app, context.logger);

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'Maestro API', version: context.version, description: 'Build and deploy: sources, deployments, releases, rollbacks, status and logs.' },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer' },
          session: { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE, description: `from POST /v1/auth/login; changes also need its CSRF token in ${CSRF_HEADER}` },
        },
      },
      security: [{ bearer: [] }, { session: [] }],
    },
    transform: jsonSchemaTransform,
  });

  await registerAuth(app, { store: context.store, beforeRefusal: (scope) => registerRateLimits(scope, context.rateLimits ?? DEFAULT_RATE_LIMITS) });

  app.get('/healthz', { config: { public: true, rateLimit: false }, schema: { hide: true } }, async () => ({ ok: true, version: context.version }));
  app.get('/v1/openapi.json', { config: { permission: { permission: 'project:view', anyProject: true } }, schema: { hide: true } }, async () => app.swagger());

  await app.register(authRoutes(context));
  await app.register(tokenRoutes(context));
  await app.register(userRoutes(context));
  await app.register(sourceRoutes(context));
  await app.register(projectRoutes(context));
  await app.register(deploymentRoutes(context));
  await app.register(serviceRoutes(context));
  await app.register(buildRoutes(context));
  await app.register(remoteCacheRoutes(context));
  await app.register(eventRoutes(context));
  await app.register(previewRoutes(context));
  await app.register(sbomRoutes(context));
  await app.register(policyRoutes(context));
  await app.register(routerWakeRoutes(context));
  await app.register(attestationRoutes(context));
  await app.register(vulnerabilityRoutes({ store: context.store, scanner: () => context.plane.vulnerabilities }));
  await app.register(gitHostRoutes({ store: context.store, logger: context.logger, dataDir: context.plane.paths.root, intake: () => context.plane.hookIntake, ...(context.hookFetchProtocols ? { fetch: { ...DEFAULT_FETCH_OPTIONS, protocols: context.hookFetchProtocols } } : {}) }));
  await app.register(gitHttpBackend({ store: context.store, dataDir: context.plane.paths.root, logger: context.logger, receiver: context.pushReceiver }));
  return app;
}
