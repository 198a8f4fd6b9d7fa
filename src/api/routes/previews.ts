import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { durationWithin, settingsView } from '../../previews/index.js';
import type { ApiContext } from '../context.js';
import type { FastifyRequest } from 'fastify';
import { queryOf } from '../access-lookups.js';

const PreviewView = z.object({
  project: z.string(),
  name: z.string().describe('The environment name: pr-<n>, or made from the branch'),
  kind: z.enum(['branch', 'pull_request']),
  branch: z.string(),
  pullRequest: z.number().nullable(),
  head: z.string().nullable().describe('The commit it runs'),
  origin: z.enum(['push', 'github', 'gitlab']),
  state: z.enum(['active', 'sleeping', 'destroyed']),
  urls: z.array(z.string()).describe('One per service serving in it'),
  expiresAt: z.string(),
  lastRequestAt: z.string().nullable(),
  createdAt: z.string(),
  destroyedAt: z.string().nullable(),
  destroyReason: z.string().nullable(),
});

const DestroyReport = z.object({
  project: z.string(),
  name: z.string(),
  preview: PreviewView.nullable(),
  alreadyDestroyed: z.boolean(),
  environmentRemoved: z.boolean(),
  replicasStopped: z.number(),
  filesRemoved: z.number(),
  problems: z.array(z.string()),
});

const OrphanReport = z.object({
  environments: z.array(z.object({ project: z.string(), environment: z.string() })),
  replicas: z.array(z.object({ id: z.string(), revisionId: z.string(), pid: z.number().optional() })),
  routes: z.array(z.object({ host: z.string(), project: z.string(), service: z.string(), environment: z.string() })),
  workFolders: z.array(z.string()),
  revisionFolders: z.array(z.string()),
  logs: z.array(z.string()),
});

const SettingsView = z.object({
  productionBranch: z.string(),
  previewTtl: z.string(),
  previewTtlMs: z.number(),
  maxPreviews: z.number(),
  previewIdle: z.string().nullable(),
  previewIdleMs: z.number().nullable(),
});

const ProjectParams = z.object({ project: z.string() });
const PreviewParams = z.object({ project: z.string(), name: z.string() });
const DAY_MS = 86_400_000;

/** A garbage collection deletes environments and files across projects; a dry run only reads. */
const dryRunAsked = (request: FastifyRequest): boolean => (request.body as { dryRun?: unknown } | undefined)?.dryRun === true;

/** Preview environments (list, destroy, extend, garbage collection) and the project settings that govern them. */
export function previewRoutes(context: ApiContext): FastifyPluginAsyncZod {
  const { plane } = context;
  return async (app) => {
    app.get(
      '/v1/previews',
      {
        config: { permission: { permission: 'project:view', project: (request) => queryOf(request, 'project') } },
        schema: {
          summary: 'Live previews of every project (or of one)',
          tags: ['previews'],
          querystring: z.object({ project: z.string().optional() }),
          response: { 200: z.object({ previews: z.array(PreviewView) }) },
        },
      },
      async (request) => ({ previews: await plane.previews.list(request.query.project) }),
    );

    app.get(
      '/v1/projects/:project/previews',
      {
        config: { permission: 'project:view' },
        schema: { summary: 'Live previews of a project, oldest first', tags: ['previews'], params: ProjectParams, response: { 200: z.object({ previews: z.array(PreviewView) }) } },
      },
      async (request) => ({ previews: await plane.previews.list(request.params.project) }),
    );

    app.delete(
      '/v1/projects/:project/previews/:name',
      {
        config: { permission: 'deploy:preview' },
        schema: {
          summary: 'Destroy a preview completely',
          description: 'Its deployments end, its routes go, its replicas stop, its files and its environment are deleted. Idempotent.',
          tags: ['previews'],
          params: PreviewParams,
          querystring: z.object({ reason: z.string().min(1).max(200).optional() }),
          response: { 200: DestroyReport },
        },
      },
      async (request) =>
        plane.previews.destroy(request.params.project, request.params.name, request.query.reason ?? `destroyed by ${request.actor?.name ?? 'hand'}`),
    );

    app.post(
      '/v1/projects/:project/previews/:name/extend',
      {
        config: { permission: 'deploy:preview' },
        schema: {
          summary: "Push a preview's expiry out",
          tags: ['previews'],
          params: PreviewParams,
          body: z.object({ by: z.string().default('24h').describe('A duration like 24h or 7d') }).default({ by: '24h' }),
          response: { 200: PreviewView },
        },
      },
      async (request) => plane.previews.extend(request.params.project, request.params.name, durationWithin('by', request.body.by, 1, 365 * DAY_MS)),
    );

    app.get(
      '/v1/previews/orphans',
      {
        config: { permission: 'org:view' },
        schema: {
          summary: 'What a garbage collection would remove',
          description: 'Preview-like environments with no live preview, replicas, routes, work and revision folders and logs that belong to nothing.',
          tags: ['previews'],
          response: { 200: OrphanReport },
        },
      },
      async () => plane.previews.orphans(),
    );

    app.post(
      '/v1/previews/gc',
      {
        config: { permission: { permission: (request) => (dryRunAsked(request) ? 'org:view' : 'project:delete') } },
        schema: {
          summary: 'Remove what belongs to nothing (or only list it, with dryRun)',
          tags: ['previews'],
          body: z.object({ dryRun: z.boolean().default(false) }).default({ dryRun: false }),
          response: { 200: OrphanReport.extend({ dryRun: z.boolean(), problems: z.array(z.string()) }) },
        },
      },
      async (request) => plane.previews.gc({ dryRun: request.body.dryRun }),
    );

    app.get(
      '/v1/projects/:project/settings',
      { config: { permission: 'project:view' }, schema: { summary: 'How a project takes pushes, and its previews\' limits', tags: ['projects'], params: ProjectParams, response: { 200: SettingsView } } },
      async (request) => settingsView(await plane.previews.settings(request.params.project)),
    );

    app.patch(
      '/v1/projects/:project/settings',
      {
        config: { permission: 'service:manage' },
        schema: {
          summary: "Change a project's production branch and preview limits",
          tags: ['projects'],
          params: ProjectParams,
          body: z
            .object({
              productionBranch: z.string().optional().describe('Pushes to it deploy to production'),
              previewTtl: z.string().optional().describe('How long a preview lives after its last push, like 72h'),
              maxPreviews: z.number().int().optional().describe('Live previews at once; 0 turns previews off'),
              previewIdle: z.string().nullable().optional().describe('A preview with no request this long sleeps, like 30m; null: never'),
            })
            .strict(),
          response: { 200: SettingsView },
        },
      },
      async (request) => {
        const { productionBranch, previewTtl, maxPreviews, previewIdle } = request.body;
        return settingsView(
          await plane.previews.updateSettings(request.params.project, {
            ...(productionBranch !== undefined ? { productionBranch } : {}),
            ...(previewTtl !== undefined ? { previewTtl } : {}),
            ...(maxPreviews !== undefined ? { maxPreviews } : {}),
            ...(previewIdle !== undefined ? { previewIdle } : {}),
          }),
        );
      },
    );
  };
}
