import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { MaestroError } from '../../common/index.js';
import { bearerToken, sameSecret } from '../../identity/index.js';
import { routerToken } from '../../server/router-process.js';
import type { ApiContext } from '../context.js';

export const ROUTER_WAKE_PATH = '/v1/router/wake';

/**
 * The router asks here to wake a sleeping preview when a request arrives for it. It authenticates with
 * its admin token (which only the control plane and the router know), not with an API token.
 */
export function routerWakeRoutes(context: ApiContext): FastifyPluginAsyncZod {
  return async (app) => {
    app.post(
      ROUTER_WAKE_PATH,
      {
        // Not an API token's route: the router authenticates with its own admin secret (checked below), and
        // a held request must never wait on a rate limit.
        config: { public: true, rateLimit: false },
        schema: {
          hide: true,
          body: z.object({ host: z.string().min(1).max(253) }),
          response: { 202: z.object({ waking: z.boolean() }) },
        },
      },
      async (request, reply) => {
        const token = bearerToken(request.headers.authorization);
        if (!token || !sameSecret(token, routerToken(context.plane.paths))) {
          throw new MaestroError('unauthorized', 'only the router may wake previews: send its admin token as a bearer token');
        }
        return reply.status(202).send({ waking: await context.plane.sleeper.wake(request.body.host) });
      },
    );
  };
}
