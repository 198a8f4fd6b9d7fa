import { MaestroError, errorMessage, type Logger } from '../common/index.js';
import { KeyedLock } from '../server/keyed-lock.js';
import { requireProject } from '../server/lookups.js';
import { PREVIEW_ORIGINS, type Environment, type Preview, type PreviewOrigin, type PreviewSubject, type Project, type ProjectSettings, type Store } from '../store/index.js';
import type { PreviewEffects, PreviewFolders, ReplicaRef, RoutedHost } from './effects.js';
import { countFiles, environmentFiles, orphanFiles, removeFiles } from './leftovers.js';
import { isPullRequestName, previewNameCandidates } from './naming.js';
import { checkBranchName, durationText, settingsPatch, type SettingsInput } from './settings-input.js';
import { previewView, type PreviewView } from './views.js';

/** What a push or a pull request asks a preview for. */
export type PreviewTarget = (
  | { kind: 'branch'; branch: string; number?: undefined }
  | { kind: 'pull_request'; branch: string; number: number }
) & {
  /** The commit the preview now runs. */
  sha: string;
  origin: PreviewOrigin;
  /** The pull request's title; shown in messages, not stored (the previews table has no column for it). */
  title?: string;
};

export interface OpenedPreview {
  preview: PreviewView;
  environment: Environment;
  /** False when the branch or pull request already had a live preview (its head and expiry were renewed). */
  created: boolean;
}

export interface DestroyReport {
  project: string;
  name: string;
  /** The preview as it ended; null when only leftovers of one were cleaned up. */
  preview: PreviewView | null;
  /** Destroyed before: nothing was left to do. */
  alreadyDestroyed: boolean;
  environmentRemoved: boolean;
  replicasStopped: number;
  filesRemoved: number;
  /** What did not go as it should but does not keep the preview alive (a router that did not answer). */
  problems: string[];
}

export interface OrphanReport {
  /** Environments that look like previews (`pr-<n>`, or a name a preview had) with no live preview. */
  environments: Array<{ project: string; environment: string }>;
  /** Replicas of revisions that do not exist. */
  replicas: ReplicaRef[];
  /** Routes the router serves with nothing live behind them. */
  routes: RoutedHost[];
  workFolders: string[];
  revisionFolders: string[];
  logs: string[];
}

export interface GcReport extends OrphanReport {
  dryRun: boolean;
  /** Problems met while removing (with a dry run, none). */
  problems: string[];
}

export interface PreviewManagerOptions {
  store: Store;
  effects: PreviewEffects;
  folders: PreviewFolders;
  /** The router's public port, for the previews' URLs. */
  routerPort: number;
  logger: Logger;
  now?: () => Date;
}

const MAX_EXTENSION_MS = 365 * 86_400_000;

/**
 * Preview environments, one per branch or pull request: opened (or renewed) by pushes within the
 * project's limit, destroyed completely when their branch or pull request goes, when they expire or
 * by hand, with a garbage collector for whatever a crash left behind.
 *
 * A preview is marked destroyed before its environment is taken apart, so a clean-up cut short is
 * found again: a destroyed preview whose environment still exists (`housekeeping`), or an environment
 * named like a preview with no live preview (`gc`). Clean-up of a name holds that name's lock, so a
 * push that reopens the preview meanwhile gets a fresh environment once it is done.
 */
export class PreviewManager {
  private readonly locks = new KeyedLock();
  private readonly now: () => Date;
  private housekeeping_: Promise<unknown> | undefined;

  constructor(private readonly options: PreviewManagerOptions) {
    this.now = options.now ?? (() => new Date());
  }

  /**
   * The live preview of a branch or pull request, its head moved to `target.sha` and its expiry reset
   * to now + the project's TTL; or a new one with its environment, unless the project has its limit
   * of live previews already.
   */
  async open(projectRef: string | Project, target: PreviewTarget): Promise<OpenedPreview> {
    const { store } = this.options;
    const project = typeof projectRef === 'string' ? await requireProject(store, projectRef) : projectRef;
    checkTarget(target, project);
    const settings = (await store.projects.settings(project.id)) ?? project;
    const subject: PreviewSubject = target.kind === 'branch' ? { kind: 'branch', branch: target.branch } : { kind: 'pull_request', number: target.number };
    const expiresAt = new Date(this.now().getTime() + settings.previewTtlMs);
    const { preview, created } = await this.locks.run(projectKey(project), async () => {
      const live = await store.previews.findLive(project.id, subject);
      if (live) return { preview: await store.previews.updateHead(live.id, target.sha, expiresAt), created: false };
      const count = await store.previews.countLive(project.id);
      if (count >= settings.maxPreviews) throw limitReached(project.name, settings, (await store.previews.listLive(project.id)).map((p) => p.name));
      const made = await store.previews.create({
        projectId: project.id,
        kind: target.kind,
        branch: target.branch,
        ...(target.kind === 'pull_request' ? { prNumber: target.number } : {}),
        headSha: target.sha,
        origin: target.origin,
        expiresAt,
        names: previewNameCandidates(target.kind === 'branch' ? { kind: 'branch', branch: target.branch } : { kind: 'pull_request', number: target.number }),
      });
      if (!made) {
        throw new MaestroError('conflict', `every name for a preview of ${describeTarget(target)} is taken in project ${project.name}; destroy the preview or environment that holds it`);
      }
      this.options.logger.info({ project: project.name, preview: made.name, target: describeTarget(target) }, 'preview opened');
      return { preview: made, created: true };
    });
    const environment = await this.locks.run(nameKey(project, preview.name), () => this.environmentOf(project, preview));
    const fresh = (await store.previews.get(preview.id)) ?? preview;
    return { preview: previewView(project.name, fresh, await store.live.list(), this.options.routerPort), environment, created };
  }

  /** The preview's environment, made when missing; leftovers of an earlier preview of the name go first. */
  private async environmentOf(project: Project, preview: Preview): Promise<Environment> {
    const { store } = this.options;
    const existing = await store.environments.get(project.id, preview.name);
    if (existing && existing.id !== preview.environmentId) {
      const leftover = (await store.previews.unfinished()).some((other) => other.environmentId === existing.id);
      if (leftover) await this.cleanEnvironment(project, preview.name, 'an earlier preview of this name was destroyed');
    }
    const environment = await store.environments.ensure(project.id, preview.name);
    if (preview.environmentId !== environment.id) await store.previews.setEnvironment(preview.id, environment.id);
    return environment;
  }

  /**
   * Destroys a preview completely: its deployments end, its routes go (checked on the router), its
   * replicas stop, its work folders, unpacked revisions and logs are deleted, then its environment
   * with every record under it. Idempotent: a preview destroyed before answers `alreadyDestroyed`,
   * and what a crash left of one is finished here.
   */
  async destroy(projectRef: string | Project, name: string, reason: string): Promise<DestroyReport> {
    const { store } = this.options;
    const project = typeof projectRef === 'string' ? await requireProject(store, projectRef) : projectRef;
    const marked = await this.locks.run(projectKey(project), async () => {
      const live = await store.previews.getByName(project.id, name);
      return live ? await store.previews.markDestroyed(live.id, reason) : undefined;
    });
    if (!marked && !(await this.looksLikePreview(project, name))) {
      const names = (await store.previews.listLive(project.id)).map((p) => p.name);
      throw new MaestroError('not_found', `project ${project.name} has no preview "${name}"${names.length ? `; its previews: ${names.join(', ')}` : '; it has none'}`);
    }
    if (marked) this.options.logger.info({ project: project.name, preview: name, reason }, 'destroying preview');
    const cleaned = await this.locks.run(nameKey(project, name), () => this.cleanEnvironment(project, name, reason));
    const preview = marked ?? (await store.previews.listAll({ projectId: project.id, limit: 1000 })).find((p) => p.name === name);
    return {
      project: project.name,
      name,
      preview: preview ? previewView(project.name, preview, [], this.options.routerPort) : null,
      alreadyDestroyed: !marked && !cleaned.environmentRemoved && cleaned.filesRemoved === 0,
      ...cleaned,
    };
  }

  /** Destroys the live preview of a branch or pull request (it was deleted, closed or merged); undefined when it had none. */
  async destroyFor(projectRef: string | Project, subject: PreviewSubject, reason: string): Promise<DestroyReport | undefined> {
    const { store } = this.options;
    const project = typeof projectRef === 'string' ? await requireProject(store, projectRef) : projectRef;
    const live = await store.previews.findLive(project.id, subject);
    return live ? this.destroy(project, live.name, reason) : undefined;
  }

  /** Pushes a live preview's expiry out by `byMs` (from now, when it had passed). */
  async extend(projectRef: string | Project, name: string, byMs: number): Promise<PreviewView> {
    const { store } = this.options;
    const project = typeof projectRef === 'string' ? await requireProject(store, projectRef) : projectRef;
    if (!Number.isInteger(byMs) || byMs <= 0 || byMs > MAX_EXTENSION_MS) {
      throw new MaestroError('validation_error', `extend a preview by more than 0 and at most ${durationText(MAX_EXTENSION_MS)}, got ${byMs}ms`, { field: 'by' });
    }
    const extended = await this.locks.run(projectKey(project), async () => {
      const live = await store.previews.getByName(project.id, name);
      if (!live) {
        const names = (await store.previews.listLive(project.id)).map((p) => p.name);
        throw new MaestroError('not_found', `project ${project.name} has no live preview "${name}"${names.length ? `; its previews: ${names.join(', ')}` : ''}`);
      }
      return store.previews.extend(live.id, byMs, this.now());
    });
    return previewView(project.name, extended, await store.live.list(), this.options.routerPort);
  }

  /** Live previews, of one project or all, oldest first, with their URLs. */
  async list(projectName?: string): Promise<PreviewView[]> {
    const { store } = this.options;
    const project = projectName === undefined ? undefined : await requireProject(store, projectName);
    const names = new Map((await store.projects.list()).map((p) => [p.id, p.name]));
    const live = await store.live.list();
    return (await store.previews.listLive(project?.id)).map((preview) => previewView(names.get(preview.projectId) ?? '?', preview, live, this.options.routerPort));
  }

  async settings(projectName: string): Promise<ProjectSettings> {
    const project = await requireProject(this.options.store, projectName);
    return (await this.options.store.projects.settings(project.id))!;
  }

  /** Changes a project's settings from what a person wrote (`72h`, a branch name); a validation_error says what to fix. */
  async updateSettings(projectName: string, input: SettingsInput): Promise<ProjectSettings> {
    const { store } = this.options;
    const project = await requireProject(store, projectName);
    const updated = await store.projects.updateSettings(project.id, settingsPatch(input));
    return (await store.projects.settings(updated.id))!;
  }

  /** What a garbage collection would remove. */
  async orphans(): Promise<OrphanReport> {
    const { store, effects } = this.options;
    const environments: OrphanReport['environments'] = [];
    for (const project of await store.projects.list()) {
      const live = new Set((await store.previews.listLive(project.id)).map((p) => p.name));
      const everUsed = await store.previews.namesEverUsed(project.id);
      for (const environment of await store.environments.list(project.id)) {
        if (live.has(environment.name)) continue;
        if (isPullRequestName(environment.name) || everUsed.has(environment.name)) environments.push({ project: project.name, environment: environment.name });
      }
    }
    const running = effects.replicas();
    const revisions = await store.previews.ids('revisions', [...new Set(running.map((replica) => replica.revisionId))]);
    const replicas = running.filter((replica) => !revisions.has(replica.revisionId));
    const serving = new Set((await store.live.list()).map((row) => `${row.projectName}/${row.serviceName}/${row.environmentName}`));
    const routes = (await effects.routes()).filter((route) => !serving.has(`${route.project}/${route.service}/${route.environment}`));
    const files = await orphanFiles(this.options.folders, (kind, ids) => store.previews.ids(kind, ids));
    return { environments, replicas, routes, ...files };
  }

  /** Lists what `orphans` finds and, unless `dryRun`, removes it. */
  async gc(options: { dryRun: boolean }): Promise<GcReport> {
    const report = await this.orphans();
    const problems: string[] = [];
    if (options.dryRun) return { ...report, dryRun: true, problems };
    const { store, effects, logger } = this.options;
    const attempt = async (what: string, task: () => Promise<unknown>): Promise<void> => {
      try {
        await task();
      } catch (error) {
        problems.push(`${what}: ${errorMessage(error)}`);
      }
    };
    for (const { project: name, environment } of report.environments) {
      await attempt(`environment ${environment} of ${name}`, async () => {
        const project = await requireProject(store, name);
        const cleaned = await this.locks.run(nameKey(project, environment), () => this.cleanEnvironment(project, environment, 'garbage collected'));
        problems.push(...cleaned.problems);
      });
    }
    for (const replica of report.replicas) await attempt(`replica ${replica.id}`, () => effects.stopReplica(replica.id));
    if (report.routes.length > 0) await attempt('the route table', () => effects.pushRoutes());
    await attempt('files', () => removeFiles(report));
    logger.info({ environments: report.environments.length, replicas: report.replicas.length, routes: report.routes.length, files: countFiles(report), problems }, 'garbage collected');
    return { ...report, dryRun: false, problems };
  }

  /**
   * The timer's work: finish destroys a crash cut short, then destroy every preview past its expiry
   * (reason "expired"). Runs one at a time; a failure is logged and retried on the next run.
   */
  housekeeping(now: Date = this.now()): Promise<{ expired: string[]; finished: string[] }> {
    const run = (this.housekeeping_ ?? Promise.resolve()).then(() => this.sweep(now));
    this.housekeeping_ = run.catch(() => undefined);
    return run;
  }

  /** Waits for a housekeeping run in progress (shutdown). */
  async idle(): Promise<void> {
    await this.housekeeping_;
  }

  private async sweep(now: Date): Promise<{ expired: string[]; finished: string[] }> {
    const { store, logger } = this.options;
    const finished: string[] = [];
    const expired: string[] = [];
    for (const preview of await store.previews.unfinished()) {
      const project = await store.projects.getById(preview.projectId);
      if (!project || (await store.previews.getByName(project.id, preview.name))) continue;
      try {
        await this.locks.run(nameKey(project, preview.name), () => this.cleanEnvironment(project, preview.name, preview.destroyReason ?? 'destroyed'));
        finished.push(`${project.name}/${preview.name}`);
      } catch (error) {
        logger.warn({ project: project.name, preview: preview.name, err: errorMessage(error) }, 'could not finish destroying a preview; trying again later');
      }
    }
    for (const preview of await store.previews.expired(now)) {
      const project = await store.projects.getById(preview.projectId);
      if (!project) continue;
      try {
        await this.destroy(project, preview.name, 'expired');
        expired.push(`${project.name}/${preview.name}`);
      } catch (error) {
        logger.warn({ project: project.name, preview: preview.name, err: errorMessage(error) }, 'could not destroy an expired preview; trying again later');
      }
    }
    return { expired, finished };
  }

  /** An environment of this name that a preview had, or `pr-<n>`, and no live preview holds. */
  private async looksLikePreview(project: Project, name: string): Promise<boolean> {
    const { store } = this.options;
    if (await store.previews.getByName(project.id, name)) return false;
    return isPullRequestName(name) || (await store.previews.namesEverUsed(project.id)).has(name);
  }

  /**
   * Takes an environment apart, in an order a crash can resume from: deployments end, nothing serves
   * (routes pushed and checked), replicas stop, files go, and the environment row goes last, since it
   * is what says there is something left to clean up.
   */
  private async cleanEnvironment(project: Project, name: string, reason: string): Promise<Omit<DestroyReport, 'project' | 'name' | 'preview' | 'alreadyDestroyed'>> {
    const { store, effects, folders } = this.options;
    const problems: string[] = [];
    const environment = await store.environments.get(project.id, name);
    if (!environment) return { environmentRemoved: false, replicasStopped: 0, filesRemoved: 0, problems };
    await effects.cancelDeployments(environment.id, `preview ${name} destroyed: ${reason}`);
    const footprint = await store.previews.footprint(environment.id);

    await store.environments.clearServing(environment.id);
    try {
      await effects.pushRoutes();
      const still = (await effects.routes()).filter((route) => route.project === project.name && route.environment === name);
      if (still.length > 0) problems.push(`the router still serves ${still.map((route) => route.host).join(', ')}`);
    } catch (error) {
      problems.push(`the router did not take the route table without ${name}: ${errorMessage(error)}; it gets one when it answers again`);
    }

    const revisions = new Set(footprint.revisionIds);
    const replicasStopped = effects.replicas().filter((replica) => revisions.has(replica.revisionId)).length;
    for (const revisionId of footprint.revisionIds) await effects.stopRevision(revisionId);

    const filesRemoved = await removeFiles(await environmentFiles(folders, footprint));
    await store.environments.remove(environment.id);
    if (problems.length > 0) this.options.logger.warn({ project: project.name, environment: name, problems }, 'preview destroyed with problems');
    return { environmentRemoved: true, replicasStopped, filesRemoved, problems };
  }
}

function projectKey(project: Project): string {
  return `project:${project.id}`;
}

function nameKey(project: Project, name: string): string {
  return `name:${project.id}/${name}`;
}

function describeTarget(target: PreviewTarget): string {
  return target.kind === 'pull_request' ? `pull request #${target.number}` : `branch ${target.branch}`;
}

function checkTarget(target: PreviewTarget, project: Project): void {
  if (target.kind !== 'branch' && target.kind !== 'pull_request') {
    throw new MaestroError('validation_error', `a preview is for a branch or a pull_request, got ${JSON.stringify((target as { kind: unknown }).kind)}`);
  }
  if (target.kind === 'pull_request' && (!Number.isSafeInteger(target.number) || target.number < 1)) {
    throw new MaestroError('validation_error', `a pull request number is a whole number from 1, got ${String(target.number)}`);
  }
  if (typeof target.branch !== 'string' || target.branch === '') throw new MaestroError('validation_error', 'a preview needs the branch it runs');
  if (target.kind === 'branch') checkBranchName(target.branch);
  if (typeof target.sha !== 'string' || target.sha === '') throw new MaestroError('validation_error', 'a preview needs the commit it runs (sha)');
  if (!(PREVIEW_ORIGINS as readonly string[]).includes(target.origin)) {
    throw new MaestroError('validation_error', `origin must be one of ${PREVIEW_ORIGINS.join(', ')}, got ${JSON.stringify(target.origin)}`);
  }
  if (target.kind === 'branch' && target.branch === project.productionBranch) {
    throw new MaestroError('validation_error', `${target.branch} is the production branch of ${project.name}: it deploys to production, not to a preview`);
  }
}

function limitReached(project: string, settings: ProjectSettings, live: string[]): MaestroError {
  const raise = `raise the limit with \`maestro projects set ${project} --max-previews N\``;
  const message =
    settings.maxPreviews === 0
      ? `project ${project} allows no previews (its limit is 0): ${raise}`
      : `project ${project} already has ${settings.maxPreviews} live previews (its limit): destroy one with \`maestro preview destroy NAME\` or ${raise}`;
  return new MaestroError('conflict', message, { limit: settings.maxPreviews, previews: live });
}
