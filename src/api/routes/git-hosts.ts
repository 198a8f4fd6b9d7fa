import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyError } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { MaestroError, type Logger } from '../../common/index.js';
import { generateWebhookSecret, checkWebhookSecret } from '../../events/index.js';
import { ensureBareRepository, gitRepositoryPath } from '../../git/index.js';
import {
  DEFAULT_STATUS_URLS,
  GIT_HOST_PROVIDERS,
  checkRepositoryName,
  checkStatusUrl,
  handleHookDelivery,
  type FetchOptions,
  type GitHostProvider,
  type HookIntake,
} from '../../git-hosts/index.js';
import { COMMIT_STATES, DELIVERY_STATUSES, type CommitStatusRecord, type Project, type ProjectHook, type Store } from '../../store/index.js';

export interface GitHostRouteOptions {
  store: Store;
  logger: Logger;
  /** Maestro's data directory: projects' bare repositories live under it. */
  dataDir: string;
  /** Read per delivery, so an intake wired after the API started is found. */
  intake(): HookIntake | undefined;
  fetch?: FetchOptions;
}

/** GitHub's cap on a webhook payload; GitLab's is smaller. */
export const MAX_HOOK_BODY_BYTES = 25 * 1024 * 1024;

const Provider = z.enum(GIT_HOST_PROVIDERS);

const HookView = z.object({
  project: z.string(),
  provider: Provider,
  repository: z.string(),
  /** Where statuses go: the project's own API base, or the provider's public one. */
  statusUrl: z.string(),
  secretSet: z.boolean(),
  statusTokenSet: z.boolean(),
  /** Where the provider sends its webhooks, on this API. */
  webhookPath: z.string(),
  createdAt: z.string(),
});

const HookReplyView = z.object({
  message: z.string(),
  pong: z.boolean().optional(),
  ignored: z.boolean().optional(),
  duplicate: z.boolean().optional(),
  deployments: z.array(z.string()).optional(),
  urls: z.array(z.string()).optional(),
});

const CommitStatusView = z.object({
  id: z.string(),
  provider: Provider,
  repository: z.string(),
  sha: z.string(),
  state: z.enum(COMMIT_STATES),
  context: z.string(),
  description: z.string(),
  targetUrl: z.string().nullable(),
  /** Its way to the provider: pending (waiting for a try), delivering, succeeded or dead (given up). */
  status: z.enum(DELIVERY_STATUSES),
  attempts: z.number(),
  lastError: z.string().nullable(),
  nextAttemptAt: z.string().nullable(),
  createdAt: z.string(),
  deliveredAt: z.string().nullable(),
});

const statusView = (record: CommitStatusRecord): z.infer<typeof CommitStatusView> => ({
  id: record.id,
  provider: record.provider,
  repository: record.repository,
  sha: record.sha,
  state: record.state,
  context: record.context,
  description: record.description,
  targetUrl: record.targetUrl ?? null,
  status: record.status,
  attempts: record.attempts,
  lastError: record.lastError ?? null,
  nextAttemptAt: record.nextAttemptAt?.toISOString() ?? null,
  createdAt: record.createdAt.toISOString(),
  deliveredAt: record.deliveredAt?.toISOString() ?? null,
});

const view = (hook: ProjectHook): z.infer<typeof HookView> => ({
  project: hook.projectName,
  provider: hook.provider,
  repository: hook.repository,
  statusUrl: hook.statusUrl ?? DEFAULT_STATUS_URLS[hook.provider],
  secretSet: true,
  statusTokenSet: hook.hasStatusToken,
  webhookPath: `/v1/hooks/${hook.provider}`,
  createdAt: hook.createdAt.toISOString(),
});

async function projectOr404(store: Store, name: string): Promise<Project> {
  const project = await store.projects.get(name);
  if (!project) throw new MaestroError('not_found', `no project "${name}"`, { project: name });
  return project;
}

/**
 * Linking projects to GitHub and GitLab repositories (bearer token), and the providers' webhooks
 * (public: authenticated by their signature or token, which needs the raw body).
 */
export function gitHostRoutes(options: GitHostRouteOptions): FastifyPluginAsyncZod {
  const { store } = options;
  return async (app) => {
    app.put(
      '/v1/projects/:project/hooks/:provider',
      {
        config: { permission: 'service:manage' },
        schema: {
          summary: "Link a project to its GitHub or GitLab repository: webhooks in, commit statuses out",
          description:
            'The answer holds the webhook secret when Maestro generated it (no `secret` given for a new link); it is not shown again. ' +
            'Leaving out `secret`, `statusUrl` or `statusToken` keeps what is stored; null clears `statusUrl` (back to the public API) or `statusToken` (no statuses).',
          tags: ['git hosts'],
          params: z.object({ project: z.string(), provider: Provider }),
          body: z.object({
            repository: z.string().min(1).max(500),
            secret: z.string().optional(),
            statusUrl: z.string().max(2048).nullable().optional(),
            statusToken: z.string().min(1).max(1000).nullable().optional(),
          }),
          response: { 200: HookView.extend({ secret: z.string().optional() }) },
        },
      },
      async (request) => {
        const { provider } = request.params;
        const { body } = request;
        const repository = checkRepositoryName(provider, body.repository.trim());
        const statusUrl = body.statusUrl === undefined || body.statusUrl === null ? body.statusUrl : checkStatusUrl(body.statusUrl);
        const project = await store.projects.ensure(request.params.project);
        const existing = await store.projectHooks.get(project.id, provider);
        const generated = body.secret === undefined && !existing ? generateWebhookSecret() : undefined;
        const secret = body.secret === undefined ? generated : checkWebhookSecret(body.secret);
        const hook = await store.projectHooks.set({
          projectId: project.id,
          provider,
          repository,
          ...(secret === undefined ? {} : { secret }),
          ...(statusUrl === undefined ? {} : { statusUrl }),
          ...(body.statusToken === undefined ? {} : { statusToken: body.statusToken }),
        });
        return { ...view(hook), ...(generated ? { secret: generated } : {}) };
      },
    );

    app.get(
      '/v1/projects/:project/hooks',
      {
        config: { permission: 'service:manage' },
        schema: {
          summary: "A project's links to GitHub and GitLab (never their secrets or tokens)",
          tags: ['git hosts'],
          params: z.object({ project: z.string() }),
          response: { 200: z.object({ hooks: z.array(HookView) }) },
        },
      },
      async (request) => {
        const project = await projectOr404(store, request.params.project);
        return { hooks: (await store.projectHooks.list(project.id)).map(view) };
      },
    );

    app.get(
      '/v1/projects/:project/hooks/:provider',
      {
        config: { permission: 'service:manage' },
        schema: {
          summary: "A project's link to one provider (never its secret or token)",
          tags: ['git hosts'],
          params: z.object({ project: z.string(), provider: Provider }),
          response: { 200: HookView },
        },
      },
      async (request) => {
        const { provider } = request.params;
        const project = await projectOr404(store, request.params.project);
        const hook = await store.projectHooks.get(project.id, provider);
        if (!hook) throw new MaestroError('not_found', `project ${project.name} is not linked to ${provider}; link it with \`maestro hooks set ${provider} --project ${project.name} --repository ...\``);
        return view(hook);
      },
    );

    app.delete(
      '/v1/projects/:project/hooks/:provider',
      {
        config: { permission: 'service:manage' },
        schema: {
          summary: "Unlink a project from a provider: its webhooks are refused and no more statuses are sent",
          tags: ['git hosts'],
          params: z.object({ project: z.string(), provider: Provider }),
          response: { 200: z.object({ project: z.string(), removed: Provider }) },
        },
      },
      async (request) => {
        const { provider } = request.params;
        const project = await projectOr404(store, request.params.project);
        if (!(await store.projectHooks.remove(project.id, provider))) {
          throw new MaestroError('not_found', `project ${project.name} is not linked to ${provider}`);
        }
        return { project: project.name, removed: provider };
      },
    );

    app.get(
      '/v1/projects/:project/commit-statuses',
      {
        config: { permission: 'project:view' },
        schema: {
          summary: "Commit statuses sent (or being sent) to GitHub and GitLab for a project, newest first; status=dead lists those given up",
          tags: ['git hosts'],
          params: z.object({ project: z.string() }),
          querystring: z.object({
            status: z.enum(DELIVERY_STATUSES).optional(),
            sha: z.string().optional(),
            limit: z.coerce.number().int().min(1).max(1000).default(100),
          }),
          response: { 200: z.object({ statuses: z.array(CommitStatusView) }) },
        },
      },
      async (request) => {
        const project = await projectOr404(store, request.params.project);
        const { status, sha, limit } = request.query;
        const records = await store.commitStatuses.list({ projectId: project.id, limit, ...(status ? { status } : {}), ...(sha ? { sha } : {}) });
        return { statuses: records.map(statusView) };
      },
    );

    // The webhooks themselves, in a scope of their own: the body stays raw bytes, since the signature is
    // over exactly those, and may be as large as GitHub sends.
    await app.register(async (hooks) => {
      hooks.removeAllContentTypeParsers();
      hooks.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: MAX_HOOK_BODY_BYTES }, (_request, body, done) => done(null, body));
      hooks.setErrorHandler((error: FastifyError, _request, reply) => {
        if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
          return reply
            .status(413)
            .send(new MaestroError('payload_too_large', `the webhook payload is larger than ${MAX_HOOK_BODY_BYTES / 1024 / 1024} MiB, the most GitHub sends; nothing was done`).toJSON());
        }
        throw error;
      });
      // Set up once per repository and process (setting it up runs several git commands), and again
      // should it have gone from the disk since.
      const ready = new Set<string>();
      const deps = {
        store,
        logger: options.logger,
        intake: options.intake,
        async repositoryFor(project: string) {
          const path = gitRepositoryPath(options.dataDir, project);
          if (!ready.has(path) || !existsSync(join(path, 'HEAD'))) {
            await ensureBareRepository(path);
            ready.add(path);
          }
          return path;
        },
        ...(options.fetch ? { fetch: options.fetch } : {}),
      };
      for (const provider of GIT_HOST_PROVIDERS) {
        hooks.post(
          `/v1/hooks/${provider}`,
          {
            config: { public: true },
            bodyLimit: MAX_HOOK_BODY_BYTES,
            schema: {
              summary: provider === 'github' ? 'GitHub webhooks (push, pull_request, ping), signed with X-Hub-Signature-256' : 'GitLab webhooks (Push Hook, Tag Push Hook, Merge Request Hook), with X-Gitlab-Token',
              description:
                'No bearer token: the delivery is checked against the secret of the project linked to its repository. 202 once the intake accepted the intents (deployments created, not built); ' +
                '200 for a ping or a delivery id already handled; 202 with `ignored` for events that deploy nothing.',
              tags: ['git hosts'],
              security: [],
              response: { 200: HookReplyView, 202: HookReplyView },
            },
          },
          async (request, reply) => {
            const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
            const result = await handleHookDelivery(deps, { provider: provider as GitHostProvider, headers: request.headers, body });
            return reply.status(result.statusCode).send(result.body);
          },
        );
      }
    });
  };
}
