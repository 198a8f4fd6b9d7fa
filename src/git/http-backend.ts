/**
 * Maestro as a git remote: `/git/<project>.git/...` served by `git http-backend` (smart HTTP, so stock
 * git clients push, fetch and clone), behind Maestro tokens given as the HTTP Basic password. A push
 * runs Maestro's pre-receive hook, which calls back into this plugin's hook route; that route hands the
 * push to the PushReceiver and streams its progress to the pusher.
 */
import { stat } from 'node:fs/promises';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { join } from 'node:path';
import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { MaestroError, errorMessage, type Logger } from '../common/index.js';
import { bearerToken, decideAccess, type Permission, type Principal, type Target } from '../identity/index.js';
import type { Store } from '../store/index.js';
import { authenticateGitUser } from './authenticate.js';
import { httpBackendEnvironment } from './cgi-environment.js';
import { serveCgi } from './cgi-process.js';
import { decideGitAccess } from './git-access.js';
import { parseGitRequest, type GitRequest } from './git-request.js';
import { answerHook, readHookRequest } from './hook-endpoint.js';
import { HOOK_URL_ENV, PUSH_TOKEN_ENV } from './hook-protocol.js';
import type { PushReceiver } from './push.js';
import { PushSessions } from './push-sessions.js';
import { ensureBareRepository, gitRepositoryPath } from './repositories.js';

export interface GitHttpOptions {
  store: Pick<Store, 'tokens' | 'projects' | 'users' | 'memberships' | 'sessions'>;
  /** Maestro's data directory; repositories live in its `git/` folder. */
  dataDir: string;
  logger: Logger;
  /** Takes pushes; without one, pushes are refused before any data is sent. */
  receiver?: PushReceiver;
  /** How hooks reach this server (e.g. `http://127.0.0.1:7070`); by default the address each push came in on. */
  hookBaseUrl?: string;
}

export const HOOK_ROUTE = '/git-hooks/pre-receive';
const HOOK_BODY_LIMIT = 16 * 1024 * 1024;
const GIT_PACK_TYPES = ['application/x-git-upload-pack-request', 'application/x-git-receive-pack-request'];

/** The Fastify plugin: GET and POST `/git/:repo/*`, and the hooks' route. */
export function gitHttpBackend(options: GitHttpOptions): FastifyPluginAsync {
  return async (app) => {
    const sessions = new PushSessions();
    const ensured = new Map<string, Promise<void>>();
    const root = join(options.dataDir, 'git');

    // Packs go to http-backend as they arrive, whatever their size: no parsing, no body limit.
    app.addContentTypeParser(GIT_PACK_TYPES, (_request, payload, done) => done(null, payload));
    // Git prints a text/plain error body to its user as `remote:` lines, so errors are plain text here.
    app.setErrorHandler((error: FastifyError | MaestroError, _request, reply) => {
      const status = error instanceof MaestroError ? error.httpStatus : (error.statusCode ?? 500);
      if (status >= 500) options.logger.error({ err: error.message }, 'git request failed');
      if (status === 401) reply.header('www-authenticate', 'Basic realm="Maestro"');
      return reply
        .status(status)
        .type('text/plain; charset=utf-8')
        .send(`${status >= 500 && !(error instanceof MaestroError) ? 'the server failed; see its log for details' : error.message}\n`);
    });

    // Once per repository and process: creates it when asked and keeps its settings and hook current.
    const ensureRepository = (path: string): Promise<void> => {
      let done = ensured.get(path);
      if (!done) {
        done = ensureBareRepository(path).catch((error: unknown) => {
          ensured.delete(path);
          throw error;
        });
        ensured.set(path, done);
      }
      return done;
    };

    app.route({
      method: ['GET', 'POST'],
      url: '/git/:repo/*',
      exposeHeadRoute: false,
      config: { public: true },
      schema: { hide: true },
      handler: async (request: FastifyRequest<{ Params: { repo: string; '*': string }; Querystring: { service?: string | string[] } }>, reply: FastifyReply) => {
        const { service } = request.query;
        // One service only: http-backend must not see another one than the access was decided for.
        if (Array.isArray(service)) throw new MaestroError('bad_request', 'name one service in the query (service=git-upload-pack or service=git-receive-pack)');
        const target = parseGitRequest(request.params.repo, request.params['*'], service);
        const user = await authenticateGitUser(options.store, request.headers.authorization);
        const repository = gitRepositoryPath(options.dataDir, target.project);
        const where = await authorize(target, user, repository);

        const env = httpBackendEnvironment({
          projectRoot: root,
          pathInfo: target.pathInfo,
          remoteUser: user.name,
          request: { method: request.method, url: request.url, headers: request.headers, remoteAddress: request.ip },
        });
        // The POST that carries a pack runs the hook: it gets a one-time token to call back with.
        // What each pushed ref deploys is checked once the hook tells which refs they are.
        const permits = (permission: Permission) => decideAccess(user, permission, where);
        const push = target.receivePack ? sessions.open({ project: target.project, repository, actor: user.name, permits }) : undefined;
        if (push) {
          env[HOOK_URL_ENV] = `${options.hookBaseUrl ?? localUrl(request.socket)}${HOOK_ROUTE}`;
          env[PUSH_TOKEN_ENV] = push.token;
        }
        reply.hijack();
        try {
          await serveCgi({
            command: 'git',
            args: ['http-backend'],
            env,
            ...(request.method === 'POST' ? { body: request.body as Readable } : {}),
            response: reply.raw,
            logger: options.logger,
          });
        } finally {
          if (push) {
            push.close();
            // http-backend is gone (killed with its client) while the receiver is still at work: it is told.
            const { session } = push;
            if (session.hookCalled && !session.answered && !session.controller.signal.aborted) {
              session.controller.abort(new MaestroError('unavailable', 'the push ended before Maestro answered'));
            }
          }
        }
      },
    });

    // The updates of a push of many refs can pass the API's usual 1 MiB.
    app.post(HOOK_ROUTE, { config: { public: true }, schema: { hide: true }, bodyLimit: HOOK_BODY_LIMIT }, async (request, reply) => {
      const token = bearerToken(request.headers.authorization);
      const session = token ? sessions.find(token) : undefined;
      if (!session) throw new MaestroError('unauthorized', 'this hook call belongs to no push in progress (its token is unknown or its push is over)');
      if (session.hookCalled) throw new MaestroError('conflict', 'this push has already called its hook; a push token is good once');
      session.hookCalled = true;
      const hookRequest = readHookRequest(session, request.body);
      if (!options.receiver) throw new MaestroError('unavailable', 'this Maestro takes no pushes: no push intake is set up');
      reply.hijack();
      await answerHook({ session, request: hookRequest, receiver: options.receiver, response: reply.raw, logger: options.logger });
    });

    async function authorize(target: GitRequest, user: Principal, repository: string): Promise<Target> {
      const scope = await options.store.projects.scope(target.project);
      const where: Target = scope
        ? { organisationId: scope.organisationId, projectId: scope.id, projectName: target.project }
        : { organisationId: user.organisationId, projectName: target.project };
      const repositoryExists = await stat(join(repository, 'HEAD')).then(
        () => true,
        () => false,
      );
      const access = decideGitAccess({ operation: target.operation, project: target.project, principal: user, target: where, projectExists: scope !== undefined, repositoryExists });
      if (!access.allowed) throw access.error;
      if (target.operation === 'push' && !options.receiver) {
        throw new MaestroError('unavailable', 'this Maestro takes no pushes: no push intake is set up');
      }
      if (access.createProject) {
        const created = await options.store.projects.ensure(target.project);
        options.logger.info({ project: target.project, actor: user.name }, 'project created by a git push');
        where.projectId = created.id;
      }
      // Gone from disk since it was last set up (or never was): set it up again.
      if (access.createRepository) ensured.delete(repository);
      await ensureRepository(repository).catch((error: unknown) => {
        throw new MaestroError('internal', `cannot set up the repository of project "${target.project}": ${errorMessage(error)}`);
      });
      return where;
    }
  };
}

/** This server as seen on the connection a push came in on: the hook runs on this machine, so that address reaches it. */
function localUrl(socket: Socket): string {
  let host = socket.localAddress ?? '127.0.0.1';
  if (host.startsWith('::ffff:')) host = host.slice('::ffff:'.length);
  if (host.includes(':')) host = `[${host}]`;
  return `http://${host}:${socket.localPort}`;
}
