import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { MaestroError } from '../../common/index.js';
import { emitLifecycle } from '../../events/index.js';
import { policiesSchema } from '../../manifest/index.js';
import {
  DEFAULT_ORGANISATION_POLICIES,
  POLICY_SOURCES,
  completeDryRunInput,
  dryRun,
  dryRunInputSchema,
  isInForce,
  planWaiver,
  waiverNote,
} from '../../policy/index.js';
import type { PolicyWaiver, Project, Store } from '../../store/index.js';
import type { ApiContext } from '../context.js';
import { paramOf, projectOfDeployment } from '../access-lookups.js';
import { NAME } from '../schemas.js';

const PolicyResultView = z.object({
  policy: z.string(),
  source: z.enum(POLICY_SOURCES),
  action: z.enum(['deny', 'warn']),
  passed: z.boolean(),
  message: z.string().describe("Why it failed: the policy's message (and the evaluation error); '' when it passed"),
  error: z.string().optional().describe('The evaluation error: the policy fails and no waiver covers it'),
  waived: z.object({ id: z.string(), by: z.string(), reason: z.string(), expires: z.string() }).optional(),
  lapsedWaiver: z
    .object({ id: z.string(), by: z.string(), reason: z.string(), expired: z.string().optional(), revoked: z.string().optional() })
    .optional()
    .describe('A waiver of this policy that no longer counts'),
});

const DecisionView = z.object({
  outcome: z.enum(['allow', 'deny']),
  results: z.array(PolicyResultView),
  skipped: z.array(z.object({ policy: z.string(), source: z.enum(POLICY_SOURCES), environments: z.array(z.string()) })),
});

const WaiverView = z.object({
  id: z.string(),
  project: z.string(),
  policy: z.string(),
  artifact: z.string().nullable().describe('Only releases of this artifact'),
  environment: z.string().nullable().describe('Only this environment'),
  waivedBy: z.string(),
  reason: z.string(),
  state: z.enum(['active', 'expired', 'revoked']),
  expiresAt: z.string(),
  createdAt: z.string(),
  revokedAt: z.string().nullable(),
});

const EvaluationView = z.object({
  id: z.string(),
  deployment: z.string(),
  environment: z.string(),
  outcome: z.enum(['allow', 'deny']),
  results: z.array(PolicyResultView),
  input: z.record(z.string(), z.unknown()),
  evaluatedAt: z.string(),
  evaluations: z.number().describe('How many times the deployment was gated (a resumed deployment is gated again); this is the latest'),
});

const ProjectParams = z.object({ project: z.string() });

function waiverView(waiver: PolicyWaiver, project: string, now = new Date()): z.infer<typeof WaiverView> {
  return {
    id: waiver.id,
    project,
    policy: waiver.policy,
    artifact: waiver.artifactDigest ?? null,
    environment: waiver.environment ?? null,
    waivedBy: waiver.waivedBy,
    reason: waiver.reason,
    state: waiver.revokedAt ? 'revoked' : isInForce(waiver, now) ? 'active' : 'expired',
    expiresAt: waiver.expiresAt.toISOString(),
    createdAt: waiver.createdAt.toISOString(),
    revokedAt: waiver.revokedAt?.toISOString() ?? null,
  };
}

async function requireProject(store: Store, name: string): Promise<Project> {
  const project = await store.projects.get(name);
  if (!project) throw new MaestroError('not_found', `no project named ${JSON.stringify(name)}`, { project: name });
  return project;
}

/** Policy dry runs, waivers, and the gate's decision on a deployment. */
export function policyRoutes(context: ApiContext): FastifyPluginAsyncZod {
  const { store } = context;
  const organisation = context.policies ?? DEFAULT_ORGANISATION_POLICIES;
  return async (app) => {
    app.post(
      '/v1/policies/dryrun',
      {
        config: { permission: 'project:view' },
        schema: {
          summary: 'Evaluate policies against an input without deploying',
          description:
            "Evaluates the defaults, the organisation's policies and the given project policies (a maestro.yml's `policies:`) as the gate before a rollout would. " +
            "With `project`, that project's waivers count. The input may leave out `environment` (taken from `environment`) and the time's hour and weekday (from `time.now`; the clock's when `time` is left out).",
          tags: ['policies'],
          body: z.object({
            policies: policiesSchema.optional(),
            input: dryRunInputSchema,
            environment: NAME.default('production'),
            project: z.string().optional().describe("A project whose waivers count"),
          }),
          response: { 200: DecisionView },
        },
      },
      async (request) => {
        const now = new Date();
        const input = completeDryRunInput(request.body.input, request.body.environment, now);
        const project = request.body.project === undefined ? undefined : await requireProject(store, request.body.project);
        const waivers = project
          ? await store.policyWaivers.forRelease(project.id, { artifactDigest: input.artifact.digest, environment: request.body.environment })
          : [];
        return dryRun({ organisation, ...(request.body.policies ? { projectPolicies: request.body.policies } : {}), input, waivers, now });
      },
    );

    app.get(
      '/v1/projects/:project/waivers',
      {
        config: { permission: 'project:view' },
        schema: {
          summary: "A project's policy waivers, newest first",
          tags: ['policies'],
          params: ProjectParams,
          querystring: z.object({ all: z.enum(['true', 'false']).default('false').describe('true: expired and revoked ones too') }),
          response: { 200: z.object({ waivers: z.array(WaiverView) }) },
        },
      },
      async (request) => {
        const project = await requireProject(store, request.params.project);
        const now = new Date();
        const waivers = await store.policyWaivers.list(project.id, { all: request.query.all === 'true', now });
        return { waivers: waivers.map((waiver) => waiverView(waiver, project.name, now)) };
      },
    );

    app.post(
      '/v1/projects/:project/waivers',
      {
        config: { permission: 'policy:waive', reason: true },
        schema: {
          summary: 'Waive a policy: for one artifact, or for a time',
          description: 'Exactly one of `artifact` (releases of that artifact, for 30 days) and `for` (any artifact, up to 90d). Records a policy.waived event.',
          tags: ['policies'],
          params: ProjectParams,
          body: z.object({
            policy: z.string().describe('The policy name'),
            artifact: z.string().optional().describe("The artifact's sha256"),
            for: z.string().optional().describe('A duration like 24h'),
            environment: z.string().optional().describe('Only this environment'),
            reason: z.string().describe('Why; shown with every result the waiver lets through'),
          }),
          response: { 201: z.object({ waiver: WaiverView, note: z.string().optional() }) },
        },
      },
      async (request, reply) => {
        const project = await requireProject(store, request.params.project);
        const planned = planWaiver(request.body, new Date());
        const waiver = await store.policyWaivers.create({ projectId: project.id, waivedBy: request.actor!.name, ...planned });
        await emitLifecycle(store, context.plane.bus, {
          type: 'policy.waived',
          projectId: project.id,
          actor: waiver.waivedBy,
          reason: waiver.reason,
          data: {
            waiver: waiver.id,
            policy: waiver.policy,
            artifact: waiver.artifactDigest ?? null,
            environment: waiver.environment ?? null,
            expiresAt: waiver.expiresAt.toISOString(),
          },
        });
        const note = waiverNote(waiver.policy, organisation);
        return reply.status(201).send({ waiver: waiverView(waiver, project.name), ...(note ? { note } : {}) });
      },
    );

    app.delete(
      '/v1/projects/:project/waivers/:id',
      {
        config: { permission: 'policy:waive' },
        schema: {
          summary: 'Revoke a waiver: it stops counting at once',
          tags: ['policies'],
          params: z.object({ project: z.string(), id: z.string() }),
          response: { 200: z.object({ waiver: WaiverView }) },
        },
      },
      async (request) => {
        const project = await requireProject(store, request.params.project);
        const waiver = await store.policyWaivers.revoke(project.id, request.params.id);
        return { waiver: waiverView(waiver, project.name) };
      },
    );

    app.get(
      '/v1/deployments/:id/policy',
      {
        config: { permission: { permission: 'project:view', project: (request) => projectOfDeployment(store, paramOf(request, 'id')) } },
        schema: {
          summary: "The policy gate's decision on a deployment",
          description: 'The latest evaluation: every result and the input the policies read.',
          tags: ['policies'],
          params: z.object({ id: z.string() }),
          response: { 200: EvaluationView },
        },
      },
      async (request) => {
        const deployment = await store.deployments.get(request.params.id);
        if (!deployment) throw new MaestroError('not_found', `no deployment ${request.params.id}`, { id: request.params.id });
        const evaluations = await store.policyEvaluations.listForDeployment(deployment.id);
        const latest = evaluations.at(-1);
        if (!latest) {
          throw new MaestroError('not_found', `deployment ${deployment.id} has no policy evaluation yet: policies are checked just before its rollout starts`, {
            id: deployment.id,
          });
        }
        return {
          id: latest.id,
          deployment: deployment.id,
          environment: latest.environment,
          outcome: latest.outcome,
          results: latest.results as z.infer<typeof PolicyResultView>[],
          input: latest.input as Record<string, unknown>,
          evaluatedAt: latest.createdAt.toISOString(),
          evaluations: evaluations.length,
        };
      },
    );
  };
}
