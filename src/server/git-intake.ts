import { randomUUID } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { packSource } from '../build/index.js';
import { MaestroError, errorMessage, type Logger } from '../common/index.js';
import {
  changedPaths,
  commitInfo,
  exportCommit,
  forcedUpdates,
  hasFile,
  intentsFromRefUpdates,
  resolveCommit,
  type GitIntent,
  type GitObjects,
  type IntentOrigin,
  type IntentOutcome,
  type PushReceiver,
  type ReceivedPush,
} from '../git/index.js';
import { formatProblem, parseManifest } from '../manifest/index.js';
import type { ControlPlane, DeploymentView } from './control-plane.js';
import { followDeployments } from './deployment-follower.js';
import { planIntent, planPermission, type IntentPlan, type PreviewKey } from './intent-plan.js';

/** What the intake needs of preview environments. */
export interface PreviewPort {
  /** The preview's environment name, created (within the project's limit) or reused, its expiry renewed. */
  open(project: string, key: PreviewKey, head: { sha: string; origin: IntentOrigin['source']; title?: string }): Promise<string>;
  /** Tears the preview down completely; the name it had, or undefined when there was none. */
  destroy(project: string, key: PreviewKey, reason: string): Promise<string | undefined>;
}

/** Picks the services a change touches; all of them when it cannot tell. */
export type ServiceSelector = (input: { manifestText: string; sourceDir: string; changed: string[] }) => Promise<string[]>;

export interface IntakeHooks {
  /** Deployments were accepted for a commit (commit statuses: pending). */
  accepted?(project: string, origin: IntentOrigin, sha: string, environment: string, deployments: DeploymentView[]): void;
  /** They ended (commit statuses: success or failure, with the URL). */
  settled?(project: string, origin: IntentOrigin, sha: string, environment: string, deployments: DeploymentView[]): void;
}

export interface HandleOptions {
  /**
   * Follow the deployments to their end (a `git push` waits unless `-o no-wait`). Progress lines go to
   * `progress` as they happen; the outcome's message and URLs are the caller's to show at the end.
   */
  wait?: boolean;
  progress?: (line: string) => void;
  signal?: AbortSignal;
  /** Whether whoever pushed holds a permission: each plan's permission is checked before it is carried out. */
  permits?: ReceivedPush['permits'];
}

/**
 * Turns what happened in a repository (a push to Maestro, a GitHub or GitLab event) into deployments:
 * the production branch to production, other branches and pull requests to their previews, tags into
 * release builds, deleted branches and closed requests into torn-down previews. The commit is exported
 * from the project's repository, packed as a source like `maestro deploy` packs a folder (the same
 * tree, the same digest, so an unchanged commit reuses its build), and deployed with the newer commit
 * winning over older ones still building.
 */
export class GitIntake implements PushReceiver {
  constructor(
    private readonly plane: ControlPlane,
    private readonly previews: PreviewPort,
    private readonly selectServices: ServiceSelector,
    private readonly logger: Logger,
    private readonly hooks: IntakeHooks = {},
  ) {}

  async receive(push: ReceivedPush, progress: (line: string) => void, signal: AbortSignal): Promise<IntentOutcome> {
    const forced = await forcedUpdates(push.objects, push.updates);
    const intents = intentsFromRefUpdates(push.updates, (update) => forced.has(update.ref));
    const wait = !push.pushOptions.some((option) => option === 'no-wait' || option === 'nowait');
    return this.handle(push.project, intents, push.objects, { source: 'push', actor: push.actor }, { wait, progress, signal, permits: push.permits });
  }

  async handle(project: string, intents: readonly GitIntent[], objects: GitObjects, origin: IntentOrigin, options: HandleOptions = {}): Promise<IntentOutcome> {
    const say = options.progress ?? (() => undefined);
    const record = await this.plane.store.projects.get(project);
    if (!record) throw new MaestroError('not_found', `no project ${project}`);
    const outcomes: IntentOutcome[] = [];
    for (const intent of intents) {
      const plan = planIntent(intent, record.productionBranch, origin.source);
      const permission = planPermission(plan);
      const access = permission && options.permits ? options.permits(permission) : undefined;
      if (access && !access.allowed) {
        outcomes.push({ ok: false, message: `${planSummary(plan)}: ${access.message}`, urls: [], deploymentIds: [] });
        continue;
      }
      try {
        outcomes.push(await this.carryOut(project, plan, objects, origin, options, say));
      } catch (error) {
        const message = errorMessage(error);
        outcomes.push({ ok: false, message, urls: [], deploymentIds: [] });
      }
    }
    if (outcomes.length === 0) return { ok: true, message: 'nothing to do: no branch or tag changed', urls: [], deploymentIds: [] };
    return {
      ok: outcomes.every((outcome) => outcome.ok),
      message: outcomes.map((outcome) => outcome.message).join('\n'),
      urls: outcomes.flatMap((outcome) => outcome.urls),
      deploymentIds: outcomes.flatMap((outcome) => outcome.deploymentIds),
    };
  }

  private async carryOut(
    project: string,
    plan: IntentPlan,
    objects: GitObjects,
    origin: IntentOrigin,
    options: HandleOptions,
    say: (line: string) => void,
  ): Promise<IntentOutcome> {
    switch (plan.kind) {
      case 'ignore':
        return { ok: true, message: plan.reason, urls: [], deploymentIds: [] };
      case 'destroy_preview': {
        const name = await this.previews.destroy(project, plan.preview, plan.reason);
        const message = name ? `preview ${name} destroyed: ${plan.reason}` : `${plan.reason}; it had no preview`;
        return { ok: true, message, urls: [], deploymentIds: [] };
      }
      case 'release_build':
        return this.deployCommit(project, 'production', plan, objects, origin, options, say, { buildOnly: true });
      case 'deploy':
        return this.deployCommit(project, plan.environment, plan, objects, origin, options, say);
      case 'deploy_preview': {
        await this.requireManifest(objects, plan.sha, plan.ref);
        const environment = await this.previews.open(project, plan.preview, {
          sha: plan.sha,
          origin: origin.source,
          ...(plan.title ? { title: plan.title } : {}),
        });
        return this.deployCommit(project, environment, plan, objects, origin, options, say, { preview: true });
      }
    }
  }

  private async requireManifest(objects: GitObjects, sha: string, ref: string): Promise<void> {
    if (!(await hasFile(objects, sha, 'maestro.yml'))) {
      throw new MaestroError(
        'validation_error',
        `commit ${sha.slice(0, 7)} (${shortRef(ref)}) has no maestro.yml at the repository root: run \`maestro init\` there, commit the maestro.yml it writes, and push again`,
      );
    }
  }

  private async deployCommit(
    project: string,
    environment: string,
    plan: { sha: string; ref: string },
    objects: GitObjects,
    origin: IntentOrigin,
    options: HandleOptions,
    say: (line: string) => void,
    kind: { buildOnly?: boolean; preview?: boolean } = {},
  ): Promise<IntentOutcome> {
    const { plane } = this;
    await this.requireManifest(objects, plan.sha, plan.ref);
    // An annotated tag names a tag object: deploy (and record) the commit it points at.
    const commit = await commitInfo(objects, await resolveCommit(objects, plan.sha));
    plan = { ...plan, sha: commit.sha };
    say(`${shortRef(plan.ref)} -> ${kind.buildOnly ? 'release build' : environment}: ${plan.sha.slice(0, 7)} ${commit.message}`);
    const dir = join(plane.paths.work, `git-${randomUUID()}`);
    let sourceDigest: string;
    let services: string[] | undefined;
    try {
      await exportCommit(objects, plan.sha, dir);
      const manifestText = await readFile(join(dir, 'maestro.yml'), 'utf8');
      const parsed = parseManifest(manifestText, 'maestro.yml');
      if (!parsed.ok) {
        throw new MaestroError('validation_error', `maestro.yml in ${plan.sha.slice(0, 7)} is not valid:\n${parsed.problems.map(formatProblem).join('\n')}`);
      }
      if (!kind.buildOnly) services = await this.servicesFor(project, environment, objects, plan.sha, manifestText, dir, Object.keys(parsed.manifest.services));
      if (services && services.length === 0) {
        const message = `${environment}: no service's inputs changed since the commit it runs; nothing to deploy`;
        return { ok: true, message, urls: await this.urls(project, environment), deploymentIds: [] };
      }
      const packed = await packSource(dir, { outFile: `${dir}.tar.gz` });
      const stored = await plane.sources.put(packed.archive);
      await plane.store.sources.record({ digest: stored.digest, sizeBytes: stored.size });
      sourceDigest = stored.digest;
    } finally {
      await rm(dir, { recursive: true, force: true });
      await rm(`${dir}.tar.gz`, { force: true });
    }
    const deployments = await plane.createDeployments({
      project,
      sourceDigest,
      environment,
      ...(services ? { services } : {}),
      ...(origin.actor ? { createdBy: origin.actor } : {}),
      git: { commit: plan.sha, message: commit.message, ref: plan.ref },
      supersede: true,
      ...(kind.buildOnly ? { buildOnly: true } : {}),
      ...(kind.preview ? { preview: true } : {}),
    });
    const ids = deployments.map((deployment) => deployment.id);
    const reported = kind.buildOnly ? 'release build' : environment;
    this.hooks.accepted?.(project, origin, plan.sha, reported, deployments);
    const settle = async (signal?: AbortSignal): Promise<DeploymentView[]> => {
      const ended = await followDeployments(plane, ids, options.wait ? say : () => undefined, signal);
      if (ended.every((deployment) => deployment.finishedAt)) this.hooks.settled?.(project, origin, plan.sha, reported, ended);
      return ended;
    };
    if (!options.wait) {
      void settle().catch((error: unknown) => this.logger.warn({ err: errorMessage(error), project }, 'following deployments failed'));
      const urls = kind.buildOnly ? [] : deployments.map((deployment) => deployment.url);
      const message = `${kind.buildOnly ? 'release build' : environment} queued: ${deployments.map((deployment) => `${deployment.service} (${deployment.id})`).join(', ')}`;
      return { ok: true, message, urls, deploymentIds: ids };
    }
    const ended = await settle(options.signal);
    const ok = ended.every((deployment) => deployment.status === 'succeeded');
    const urls = kind.buildOnly ? [] : ended.filter((deployment) => deployment.status === 'succeeded').map((deployment) => deployment.url);
    const failed = ended.filter((deployment) => deployment.status !== 'succeeded');
    const message = ok
      ? kind.buildOnly
        ? `release build of ${shortRef(plan.ref)} stored`
        : `deployed to ${environment}`
      : `${kind.buildOnly ? 'release build' : `deploy to ${environment}`} ${failed.map((deployment) => `${deployment.service} ${deployment.status.replace('_', ' ')}${deployment.error ? `: ${deployment.error}` : ''}`).join('; ')}`;
    return { ok, message, urls, deploymentIds: ids };
  }

  /**
   * The services to deploy: all of them into an environment that has not had this project's last deploy
   * from git, else those whose watched paths changed since the commit that environment last deployed
   * (plus any service that environment has never had).
   */
  private async servicesFor(
    project: string,
    environment: string,
    objects: GitObjects,
    sha: string,
    manifestText: string,
    sourceDir: string,
    all: string[],
  ): Promise<string[] | undefined> {
    const { store } = this.plane;
    const projectRecord = await store.projects.get(project);
    const environmentRecord = projectRecord && (await store.environments.get(projectRecord.id, environment));
    if (!projectRecord || !environmentRecord) return undefined;
    const recent = await store.deployments.list({ projectId: projectRecord.id, environmentId: environmentRecord.id, limit: 100 });
    const lastDeployed = recent.find((deployment) => deployment.status === 'succeeded' && deployment.commit)?.commit;
    if (!lastDeployed) return undefined;
    const deployedServices = new Set<string>();
    for (const row of await store.live.list()) {
      if (row.projectName === project && row.environmentName === environment) deployedServices.add(row.serviceName);
    }
    // The same commit again (a reopened pull request, a branch pushed back): only what is missing.
    const changed = lastDeployed === sha ? [] : await changedPaths(objects, lastDeployed, sha);
    if (!changed) return undefined;
    const touched = new Set(changed.length === 0 ? [] : await this.selectServices({ manifestText, sourceDir, changed }));
    return all.filter((service) => touched.has(service) || !deployedServices.has(service));
  }

  private async urls(project: string, environment: string): Promise<string[]> {
    return (await this.plane.status({ project })).filter((row) => row.environment === environment).map((row) => row.url);
  }
}

/** What a plan does, as the refusal of a push names it. */
function planSummary(plan: IntentPlan): string {
  switch (plan.kind) {
    case 'deploy':
      return `${shortRef(plan.ref)} deploys to production`;
    case 'deploy_preview':
      return `${shortRef(plan.ref)} deploys a preview`;
    case 'release_build':
      return `${shortRef(plan.ref)} makes a release build`;
    case 'destroy_preview':
      return plan.reason;
    case 'ignore':
      return plan.reason;
  }
}

function shortRef(ref: string): string {
  return ref.replace(/^refs\/(heads|tags)\//, '');
}
