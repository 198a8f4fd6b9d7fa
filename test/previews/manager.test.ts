import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/common/index.js';
import { serviceHost } from '../../src/rollout/index.js';
import { PreviewManager, type PreviewEffects, type PreviewFolders, type ReplicaRef, type RoutedHost } from '../../src/previews/index.js';
import { openStore, type Environment, type Project, type Store } from '../../src/store/index.js';
import { rejection } from '../errors.js';

const HOUR = 3_600_000;
const SHA = 'a'.repeat(40);

/**
 * The running system as the manager sees it: replicas by revision, a router whose table is composed
 * from the store on every push, deployments that end when asked. Every call is recorded in order.
 */
class RecordedEffects implements PreviewEffects {
  calls: string[] = [];
  running: ReplicaRef[] = [];
  table: RoutedHost[] = [];
  /** Set to make the next stopRevision fail (a crash mid-destroy). */
  failNextStop = false;
  /** Routes the router keeps whatever it is sent (a stale table). */
  stale: RoutedHost[] = [];
  stopDelayMs = 0;

  constructor(private readonly store: () => Store) {}

  async cancelDeployments(environmentId: string, reason: string): Promise<void> {
    this.calls.push(`cancel ${environmentId}`);
    for (const deployment of await this.store().deployments.unfinished()) {
      if (deployment.environmentId === environmentId) await this.store().deployments.transition(deployment.id, 'cancelled', { error: reason });
    }
  }

  async stopRevision(revisionId: string): Promise<void> {
    if (this.failNextStop) {
      this.failNextStop = false;
      throw new Error('the control plane died here');
    }
    if (this.stopDelayMs) await new Promise((resolve) => setTimeout(resolve, this.stopDelayMs));
    this.calls.push(`stop ${revisionId}`);
    this.running = this.running.filter((replica) => replica.revisionId !== revisionId);
  }

  replicas(): ReplicaRef[] {
    return [...this.running];
  }

  async stopReplica(replicaId: string): Promise<void> {
    this.calls.push(`stop replica ${replicaId}`);
    this.running = this.running.filter((replica) => replica.id !== replicaId);
  }

  async pushRoutes(): Promise<void> {
    this.calls.push('push');
    const live = await this.store().live.list();
    this.table = [
      ...live.map((row) => ({ host: serviceHost(row.projectName, row.serviceName, row.environmentName), project: row.projectName, service: row.serviceName, environment: row.environmentName })),
      ...this.stale,
    ];
  }

  async routes(): Promise<RoutedHost[]> {
    return [...this.table];
  }
}

let store: Store;
let dataDir: string;
let folders: PreviewFolders;
let effects: RecordedEffects;
let manager: PreviewManager;
let clock: number;
let counter = 0;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'maestro-previews-'));
  store = await openStore({ dataDir: join(dataDir, 'store') });
});

afterAll(async () => {
  await store?.close();
  await rm(dataDir, { recursive: true, force: true });
});

beforeEach(async () => {
  const root = join(dataDir, `data-${++counter}`);
  folders = { work: join(root, 'work'), revisions: join(root, 'revisions'), deploymentLogs: join(root, 'logs', 'deployments'), replicaLogs: join(root, 'logs', 'replicas') };
  for (const folder of Object.values(folders)) await mkdir(folder, { recursive: true });
  clock = Date.parse('2030-01-01T00:00:00Z');
  effects = new RecordedEffects(() => store);
  manager = new PreviewManager({ store, effects, folders, routerPort: 8080, logger: silentLogger(), now: () => new Date(clock) });
});

const newProject = async (): Promise<Project> => store.projects.ensure(`hello-${counter}`);
const branch = (name: string, sha = SHA) => ({ kind: 'branch' as const, branch: name, sha, origin: 'push' as const });

/** What a deploy leaves in an environment: a finished deployment live, one still building, their files, replicas. */
async function deployInto(project: Project, environment: Environment, service = 'web') {
  const svc = await store.services.ensure(project.id, service);
  const digest = (n: number) => `${n}`.repeat(64).slice(0, 64);
  const { deployment: done } = await store.deployments.createOrGetInProgress({ projectId: project.id, serviceId: svc.id, environmentId: environment.id, sourceDigest: digest(1), config: {} });
  const build = await store.builds.create({ deploymentId: done.id, sourceDigest: digest(1) });
  const revision = await store.revisions.create({ serviceId: svc.id, environmentId: environment.id, artifactDigest: digest(2), config: {} });
  await store.deployments.transition(done.id, 'building');
  await store.deployments.transition(done.id, 'deploying', { revisionId: revision.id });
  const release = await store.releases.create({ serviceId: svc.id, environmentId: environment.id, revisionId: revision.id, deploymentId: done.id, kind: 'deploy' });
  await store.live.set(svc.id, environment.id, { releaseId: release.id, revisionId: revision.id });
  await store.deployments.transition(done.id, 'succeeded', { releaseId: release.id });
  const { deployment: building } = await store.deployments.createOrGetInProgress({ projectId: project.id, serviceId: svc.id, environmentId: environment.id, sourceDigest: digest(3), config: {} });
  const nextBuild = await store.builds.create({ deploymentId: building.id, sourceDigest: digest(3) });
  const files = [
    join(folders.work, build.id, 'source', 'server.js'),
    join(folders.work, nextBuild.id, 'home', '.npmrc'),
    join(folders.revisions, revision.id, 'server.js'),
    join(folders.deploymentLogs, `${done.id}.log`),
    join(folders.deploymentLogs, `${building.id}.log`),
    join(folders.replicaLogs, `${revision.id}-1.log`),
    join(folders.replicaLogs, `${revision.id}-1.log.1`),
    join(folders.replicaLogs, `${revision.id}-2.log`),
  ];
  for (const file of files) {
    await mkdir(join(file, '..'), { recursive: true });
    await writeFile(file, 'x');
  }
  effects.running.push({ id: `${revision.id}-1`, revisionId: revision.id, pid: 101 }, { id: `${revision.id}-2`, revisionId: revision.id, pid: 102 });
  await effects.pushRoutes();
  return { service: svc, done, building, build, nextBuild, revision, files };
}

describe('PreviewManager.open', () => {
  it('creates a preview and its environment for a new branch, and renews it on the next push', async () => {
    const project = await newProject();
    const first = await manager.open(project.name, branch('feat/login'));
    expect(first.created).toBe(true);
    expect(first.preview).toMatchObject({ name: expect.stringMatching(/^feat-login-[0-9a-f]{6}$/), branch: 'feat/login', kind: 'branch', head: SHA, state: 'active', urls: [] });
    expect(first.preview.expiresAt).toBe(new Date(clock + 72 * HOUR).toISOString());
    expect(first.environment.name).toBe(first.preview.name);
    expect((await store.previews.getByName(project.id, first.preview.name))!.environmentId).toBe(first.environment.id);

    clock += HOUR;
    const again = await manager.open(project, branch('feat/login', 'b'.repeat(40)));
    expect(again.created).toBe(false);
    expect(again.environment.id).toBe(first.environment.id);
    expect(again.preview).toMatchObject({ name: first.preview.name, head: 'b'.repeat(40), expiresAt: new Date(clock + 72 * HOUR).toISOString() });
  });

  it('names a pull request pr-<n>, apart from a branch preview of the same branch', async () => {
    const project = await newProject();
    const pr = await manager.open(project, { kind: 'pull_request', number: 7, branch: 'feat/login', sha: SHA, origin: 'github', title: 'Log in' });
    expect(pr.preview).toMatchObject({ name: 'pr-7', pullRequest: 7, origin: 'github' });
    const branchPreview = await manager.open(project, branch('feat/login'));
    expect(branchPreview.preview.name).not.toBe('pr-7');
    expect((await manager.list(project.name)).map((p) => p.name)).toEqual(['pr-7', branchPreview.preview.name]);
  });

  it('refuses a preview past the project limit, saying how to make room', async () => {
    const project = await newProject();
    await store.projects.updateSettings(project.id, { maxPreviews: 2 });
    await manager.open(project.name, branch('one'));
    await manager.open(project.name, branch('two'));
    const error = await rejection(manager.open(project.name, branch('three')));
    expect(error.code).toBe('conflict');
    expect(error.message).toBe(
      `project ${project.name} already has 2 live previews (its limit): destroy one with \`maestro preview destroy NAME\` or raise the limit with \`maestro projects set ${project.name} --max-previews N\``,
    );
    // A push to a branch that has a preview is no new preview: it goes through at the limit.
    expect((await manager.open(project.name, branch('two', 'c'.repeat(40)))).created).toBe(false);
    await manager.destroy(project.name, 'one', 'by hand');
    expect((await manager.open(project.name, branch('three'))).created).toBe(true);
  });

  it('refuses the production branch, and targets that are not whole', async () => {
    const project = await newProject();
    expect((await rejection(manager.open(project, branch('main')))).message).toContain('main is the production branch');
    expect((await rejection(manager.open(project, { ...branch('x'), sha: '' }))).message).toContain('commit');
    expect((await rejection(manager.open(project, { kind: 'pull_request', number: 0, branch: 'x', sha: SHA, origin: 'github' }))).message).toContain('whole number from 1');
    expect((await rejection(manager.open(project, branch('bad..name')))).message).toContain('not a branch name git accepts');
    expect((await rejection(manager.open('no-such-project', branch('x')))).code).toBe('not_found');
  });
});

describe('PreviewManager.destroy', () => {
  it('ends deployments, drops routes, stops replicas, deletes files and the environment, and marks the preview destroyed', async () => {
    const project = await newProject();
    const { preview, environment } = await manager.open(project, branch('feat-x'));
    const deployed = await deployInto(project, environment);
    // Another environment of the same project stays as it was.
    const production = await store.environments.ensure(project.id, 'production');
    const other = await deployInto(project, production);
    expect((await manager.list(project.name))[0]!.urls).toEqual([`http://web.feat-x.${project.name}.localhost:8080/`]);
    effects.calls = [];

    const report = await manager.destroy(project.name, preview.name, 'branch deleted');
    expect(report).toMatchObject({ name: 'feat-x', alreadyDestroyed: false, environmentRemoved: true, replicasStopped: 2, filesRemoved: 8, problems: [] });
    expect(report.preview).toMatchObject({ state: 'destroyed', destroyReason: 'branch deleted' });
    expect(effects.calls).toEqual([`cancel ${environment.id}`, 'push', `stop ${deployed.revision.id}`]);
    expect(await store.deployments.get(deployed.building.id)).toBeUndefined();
    for (const file of deployed.files) expect(existsSync(file)).toBe(false);
    for (const file of other.files) expect(existsSync(file)).toBe(true);
    expect(effects.running.map((r) => r.revisionId)).toEqual([other.revision.id, other.revision.id]);
    expect(effects.table.map((r) => r.environment)).toEqual(['production']);
    expect(await store.environments.get(project.id, 'feat-x')).toBeUndefined();
    expect(await store.revisions.get(deployed.revision.id)).toBeUndefined();
    expect(await manager.list(project.name)).toEqual([]);
    const orphans = await manager.orphans();
    expect(orphans).toMatchObject({ replicas: [], routes: [], workFolders: [], revisionFolders: [], logs: [] });
    expect(orphans.environments.filter((e) => e.project === project.name)).toEqual([]);

    // Again: nothing left to do, and said so.
    effects.calls = [];
    expect(await manager.destroy(project.name, 'feat-x', 'again')).toMatchObject({ alreadyDestroyed: true, environmentRemoved: false });
    expect(effects.calls).toEqual([]);
    expect((await rejection(manager.destroy(project.name, 'never-was', 'typo'))).message).toBe(`project ${project.name} has no preview "never-was"; it has none`);
  });

  it('reports a router that keeps the hosts, and still finishes', async () => {
    const project = await newProject();
    const { preview, environment } = await manager.open(project, branch('sticky'));
    await deployInto(project, environment);
    effects.stale = [{ host: `web.sticky.${project.name}.localhost`, project: project.name, service: 'web', environment: 'sticky' }];
    const report = await manager.destroy(project, preview.name, 'by hand');
    expect(report.problems).toEqual([`the router still serves web.sticky.${project.name}.localhost`]);
    expect(report.environmentRemoved).toBe(true);
    // What the router keeps serving is garbage: gc pushes a table again.
    expect((await manager.orphans()).routes.map((r) => r.host)).toEqual([`web.sticky.${project.name}.localhost`]);
  });

  it('destroys the preview of a branch or pull request by what it is for', async () => {
    const project = await newProject();
    await manager.open(project, { kind: 'pull_request', number: 12, branch: 'fix', sha: SHA, origin: 'gitlab' });
    expect(await manager.destroyFor(project.name, { kind: 'pull_request', number: 13 }, 'closed')).toBeUndefined();
    const report = await manager.destroyFor(project.name, { kind: 'pull_request', number: 12 }, 'pull request #12 was merged');
    expect(report).toMatchObject({ name: 'pr-12', preview: { destroyReason: 'pull request #12 was merged' } });
  });

  it('after a crash midway, housekeeping finishes the job; gc would have found the environment', async () => {
    const project = await newProject();
    const { preview, environment } = await manager.open(project, branch('crashy'));
    const deployed = await deployInto(project, environment);
    effects.failNextStop = true;
    await expect(manager.destroy(project, preview.name, 'expired')).rejects.toThrow('the control plane died here');
    expect((await store.previews.listAll({ projectId: project.id }))[0]).toMatchObject({ state: 'destroyed', environmentId: environment.id });
    expect((await manager.orphans()).environments.filter((e) => e.project === project.name)).toEqual([{ project: project.name, environment: 'crashy' }]);

    const result = await manager.housekeeping();
    expect(result.finished).toEqual([`${project.name}/crashy`]);
    expect(await store.environments.get(project.id, 'crashy')).toBeUndefined();
    for (const file of deployed.files) expect(existsSync(file)).toBe(false);
    expect(effects.running).toEqual([]);
    expect((await manager.orphans()).environments.filter((e) => e.project === project.name)).toEqual([]);
  });

  it('a push that reopens a preview being destroyed waits, then gets a fresh environment', async () => {
    const project = await newProject();
    const { preview, environment } = await manager.open(project, branch('again'));
    await deployInto(project, environment);
    effects.stopDelayMs = 200;
    effects.calls = [];
    const destroying = manager.destroy(project, preview.name, 'by hand');
    await new Promise((resolve) => setTimeout(resolve, 50));
    const reopened = await manager.open(project, branch('again', 'd'.repeat(40)));
    await destroying;
    expect(reopened.created).toBe(true);
    expect(reopened.preview.name).toBe('again');
    expect(reopened.environment.id).not.toBe(environment.id);
    // One clean-up ran, the destroy's; the push waited for it instead of starting a second.
    expect(effects.calls.filter((call) => call.startsWith('cancel'))).toEqual([`cancel ${environment.id}`]);
    expect(await store.environments.get(project.id, 'again')).toEqual(reopened.environment);
    expect(await store.previews.footprint(reopened.environment.id)).toEqual({ deploymentIds: [], buildIds: [], revisionIds: [] });
  });
});

describe('PreviewManager: expiry, extension, settings', () => {
  it('housekeeping destroys what has expired, with the reason "expired"; extend keeps one alive', async () => {
    const project = await newProject();
    await store.projects.updateSettings(project.id, { previewTtlMs: HOUR });
    const short = await manager.open(project, branch('short'));
    const kept = await manager.open(project, branch('kept'));
    const extended = await manager.extend(project.name, kept.preview.name, 24 * HOUR);
    expect(extended.expiresAt).toBe(new Date(clock + 25 * HOUR).toISOString());
    expect((await rejection(manager.extend(project.name, 'nope', HOUR))).message).toContain('no live preview "nope"; its previews: short, kept');

    clock += 2 * HOUR;
    expect(await manager.housekeeping()).toEqual({ expired: [`${project.name}/short`], finished: [] });
    const all = await store.previews.listAll({ projectId: project.id });
    expect(all.find((p) => p.name === 'short')).toMatchObject({ state: 'destroyed', destroyReason: 'expired' });
    expect(await store.environments.get(project.id, short.preview.name)).toBeUndefined();
    expect((await manager.list(project.name)).map((p) => p.name)).toEqual(['kept']);
    expect(await manager.housekeeping()).toEqual({ expired: [], finished: [] });
  });

  it('settings are read and written as people write them', async () => {
    const project = await newProject();
    expect(await manager.settings(project.name)).toEqual({ productionBranch: 'main', previewTtlMs: 72 * HOUR, maxPreviews: 10 });
    expect(await manager.updateSettings(project.name, { productionBranch: 'trunk', previewTtl: '24h', maxPreviews: 3, previewIdle: '30m' })).toEqual({
      productionBranch: 'trunk',
      previewTtlMs: 24 * HOUR,
      maxPreviews: 3,
      previewIdleMs: 30 * 60_000,
    });
    expect((await manager.updateSettings(project.name, { previewIdle: null })).previewIdleMs).toBeUndefined();
    expect((await rejection(manager.updateSettings(project.name, { previewTtl: 'soon' }))).message).toBe('previewTtl must be a duration like 30m, 24h or 7d, got "soon"');
    expect((await rejection(manager.updateSettings(project.name, { previewTtl: '10s' }))).message).toBe('previewTtl must be from 1m to 8760h, got 10s');
    expect((await rejection(manager.updateSettings(project.name, { productionBranch: 'has space' }))).message).toContain('not a branch name git accepts');
    expect((await rejection(manager.updateSettings(project.name, { maxPreviews: -1 }))).message).toContain('maxPreviews must be a whole number from 0');
  });
});

describe('PreviewManager.orphans and gc', () => {
  it('find what belongs to nothing, list it on a dry run, and remove it otherwise', async () => {
    const project = await newProject();
    const production = await store.environments.ensure(project.id, 'production');
    const kept = await deployInto(project, production);
    // An environment named like a pull request's preview with no preview, and a staging one nobody made a preview of.
    await store.environments.ensure(project.id, 'pr-9');
    await store.environments.ensure(project.id, 'staging');
    const strays = [
      join(folders.work, 'bld_aaaaaaaaaaaa'),
      join(folders.revisions, 'rev_bbbbbbbbbbbb'),
      join(folders.deploymentLogs, 'dep_cccccccccccc.log'),
      join(folders.replicaLogs, 'rev_bbbbbbbbbbbb-1.log.2'),
    ];
    for (const path of strays) await mkdir(path, { recursive: true });
    // Not named the way Maestro names its own files: never touched.
    const foreign = join(folders.work, 'git-3f1c');
    await mkdir(foreign);
    effects.running.push({ id: 'rev_bbbbbbbbbbbb-1', revisionId: 'rev_bbbbbbbbbbbb', pid: 999 });
    effects.stale = [{ host: `web.gone.${project.name}.localhost`, project: project.name, service: 'web', environment: 'gone' }];
    await effects.pushRoutes();

    const expected = {
      environments: [{ project: project.name, environment: 'pr-9' }],
      replicas: [{ id: 'rev_bbbbbbbbbbbb-1', revisionId: 'rev_bbbbbbbbbbbb', pid: 999 }],
      routes: [{ host: `web.gone.${project.name}.localhost`, project: project.name, service: 'web', environment: 'gone' }],
      workFolders: [strays[0]],
      revisionFolders: [strays[1]],
      logs: [strays[2], strays[3]],
    };
    const orphans = await manager.orphans();
    expect(orphans).toMatchObject(expected);
    expect(orphans.environments.filter((e) => e.project !== project.name)).toEqual([]);

    effects.calls = [];
    expect(await manager.gc({ dryRun: true })).toMatchObject({ ...expected, dryRun: true, problems: [] });
    expect(effects.calls).toEqual([]);
    for (const path of strays) expect(existsSync(path)).toBe(true);

    effects.stale = [];
    const done = await manager.gc({ dryRun: false });
    expect(done).toMatchObject({ dryRun: false, problems: [] });
    expect(effects.calls).toContain('stop replica rev_bbbbbbbbbbbb-1');
    for (const path of strays) expect(existsSync(path)).toBe(false);
    expect(existsSync(foreign)).toBe(true);
    for (const file of kept.files) expect(existsSync(file)).toBe(true);
    expect(await store.environments.get(project.id, 'pr-9')).toBeUndefined();
    expect(await store.environments.get(project.id, 'staging')).toBeDefined();
    expect(await manager.orphans()).toMatchObject({ environments: [], replicas: [], routes: [], workFolders: [], revisionFolders: [], logs: [] });
  });
});
