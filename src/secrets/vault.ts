/**
 * The secrets of an installation: set, listed (never a value), removed, revealed on purpose, resolved
 * for a replica or a build, and known to redaction. Values are sealed under their project's (or
 * organisation's) data key, which is wrapped under the master key held here.
 */
import { createHash, randomBytes } from 'node:crypto';
import { MaestroError, errorMessage, type Logger } from '../common/index.js';
import type { MasterKeyCheck, SealedSecret, SecretRecord, SecretScope, Store } from '../store/index.js';
import { newDataKey, openValue, opensCheck, sealValue, unwrapDataKey, wrapDataKey, type DataKeyScope } from './envelope.js';
import {
  MASTER_KEY_BYTES,
  MASTER_KEY_ENV,
  forgetPreviousMasterKey,
  masterKeyId,
  readMasterKey,
  replaceMasterKeyFile,
  restorePreviousMasterKeyFile,
  type MasterKey,
} from './master-key.js';
import { checkSecretName, checkSecretValue } from './names.js';
import { Redactor, type NamedValue } from './redact.js';
import { rewrapAll } from './rewrap.js';

/** Where a secret is, by name: an organisation, or a project in it, or one environment of that project. */
export interface SecretTarget {
  organisationId: string;
  project?: string;
  environment?: string;
}

export type ScopeLevel = 'organisation' | 'project' | 'environment';

export interface SecretListing {
  name: string;
  level: ScopeLevel;
  project?: string;
  environment?: string;
  version: number;
  updatedAt: Date;
  updatedBy?: string;
}

export interface ResolvedSecret {
  value: string;
  level: ScopeLevel;
  version: number;
}

export interface RotationResult {
  keyId: string;
  dataKeys: number;
  signingKeys: number;
  /** Where the new key is: the key file, or (for MAESTRO_MASTER_KEY) nowhere but the file it was read from. */
  origin: string;
  fromEnv: boolean;
}

export interface SecretVaultOptions {
  store: Store;
  /** The master key, opened and checked (`openMasterKey`). */
  masterKey: MasterKey;
  dataDir: string;
  /** Where MAESTRO_MASTER_KEY is read from again if another control plane rotated the key. */
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
  /** How often the redactor looks for secrets changed elsewhere (another control plane). */
  refreshMs?: number;
}

const DEFAULT_REFRESH_MS = 30_000;

export class SecretVault {
  private master: MasterKey;
  private readonly dataKeys = new Map<string, { id: string; key: Buffer }>();
  private redactorNow = Redactor.none;
  private stamp: string | undefined;
  private refreshTimer: NodeJS.Timeout | undefined;
  /** Data keys are made and the master key rotated one at a time in this process. */
  private keyWork: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: SecretVaultOptions) {
    this.master = options.masterKey;
  }

  private get store(): Store {
    return this.options.store;
  }

  /** Loads what redaction needs and keeps it current. */
  async start(): Promise<void> {
    await this.refresh();
    this.refreshTimer = setInterval(() => void this.refresh().catch((error: unknown) => this.options.logger?.warn({ err: errorMessage(error) }, 'could not refresh the secrets redaction knows')), this.options.refreshMs ?? DEFAULT_REFRESH_MS);
    this.refreshTimer.unref();
  }

  stop(): void {
    if (this.refreshTimer) clearInterval(this.refreshTimer);
  }

  /** The master key in use (its id and where it came from; never its bytes outside this module). */
  get masterKey(): MasterKey {
    return this.master;
  }

  /** Every current secret value of the installation, as a redactor. Synchronous: output paths call it per line. */
  redactor(): Redactor {
    return this.redactorNow;
  }

  /** Reads every current value again when anything changed since the last time. */
  async refresh(): Promise<void> {
    const stamp = await this.store.secrets.stamp();
    if (stamp === this.stamp) return;
    const values: NamedValue[] = [];
    for (const secret of await this.store.secrets.allCurrent()) values.push({ name: secret.name, value: await this.open(secret) });
    this.redactorNow = new Redactor(values);
    this.stamp = stamp;
  }

  // ---- writing -----------------------------------------------------------------------------------

  /** Sets secrets (a new version of each that exists); the project and environment are made when missing. */
  async set(target: SecretTarget, entries: readonly NamedValue[], actor?: string): Promise<SecretRecord[]> {
    if (entries.length === 0) throw new MaestroError('validation_error', 'name at least one secret to set, as NAME=value');
    const seen = new Set<string>();
    for (const { name, value } of entries) {
      checkSecretName(name);
      checkSecretValue(name, value);
      if (seen.has(name)) throw new MaestroError('validation_error', `${name} is given twice; set each secret once`, { field: name });
      seen.add(name);
    }
    const scope = await this.scopeOf(target, { create: true });
    const keyScope = dataKeyScope(scope);
    const dataKey = await this.dataKeyFor(keyScope, { create: true });
    const records = await this.store.transaction(async (tx) => {
      const done: SecretRecord[] = [];
      for (const { name, value } of entries) {
        done.push(
          await tx.secrets.putVersion({
            scope,
            name,
            dataKeyId: dataKey.id,
            ...(actor ? { actor } : {}),
            seal: (version) => sealValue(dataKey.key, value, { ...scope, name, version }),
          }),
        );
      }
      return done;
    });
    await this.refresh();
    return records;
  }

  /** Removes secrets with their versions; `not_found` naming those that were not there (the others are removed). */
  async remove(target: SecretTarget, names: readonly string[]): Promise<string[]> {
    for (const name of names) checkSecretName(name);
    const scope = await this.scopeOf(target, { create: false });
    const missing: string[] = [];
    const removed: string[] = [];
    for (const name of names) ((await this.store.secrets.remove(scope, name)) ? removed : missing).push(name);
    await this.refresh();
    if (missing.length > 0) {
      throw new MaestroError('not_found', `${describeTarget(target)} has no secret ${missing.join(', ')}${removed.length > 0 ? ` (removed ${removed.join(', ')})` : ''}`, {
        missing,
        removed,
      });
    }
    return removed;
  }

  // ---- reading -----------------------------------------------------------------------------------

  /**
   * Names, levels and versions, never values: the organisation's secrets; for a project its own and
   * every environment's (only the one named, with `environment`) with the organisation's it inherits.
   */
  async list(target: SecretTarget): Promise<SecretListing[]> {
    const scope = await this.scopeOf(target, { create: false });
    const organisation = await this.store.secrets.list({ organisationId: scope.organisationId });
    if (!scope.projectId) return organisation.map((record) => listing(record, 'organisation'));
    const project = await this.store.secrets.list({ organisationId: scope.organisationId, projectId: scope.projectId });
    const environments = scope.environmentId
      ? await this.store.secrets.list(scope)
      : await this.store.secrets.listEnvironmentLevel(scope.organisationId, scope.projectId);
    const names = new Map<string, string>();
    for (const environment of await this.store.environments.list(scope.projectId)) names.set(environment.id, environment.name);
    return [
      ...organisation.map((record) => listing(record, 'organisation')),
      ...project.map((record) => listing(record, 'project', target.project)),
      ...environments.map((record) => listing(record, 'environment', target.project, names.get(record.environmentId!))),
    ];
  }

  /** One secret's value, as set at exactly this level: a sensitive read the caller records. */
  async reveal(target: SecretTarget, name: string): Promise<{ name: string; value: string; version: number; level: ScopeLevel }> {
    checkSecretName(name);
    const scope = await this.scopeOf(target, { create: false });
    const secret = await this.store.secrets.get(scope, name);
    if (!secret) throw new MaestroError('not_found', `${describeTarget(target)} has no secret ${name}`);
    return { name, value: await this.open(secret), version: secret.version, level: levelOf(secret) };
  }

  /** What an app in this environment gets: the organisation's, the project's and the environment's secrets, the narrowest winning. */
  async resolve(scope: Required<SecretScope>): Promise<Map<string, ResolvedSecret>> {
    const resolved = new Map<string, ResolvedSecret & { rank: number }>();
    for (const secret of await this.store.secrets.reaching(scope)) {
      const level = levelOf(secret);
      const rank = RANK[level];
      const current = resolved.get(secret.name);
      if (current && current.rank >= rank) continue;
      resolved.set(secret.name, { value: await this.open(secret), level, version: secret.version, rank });
    }
    return new Map([...resolved].map(([name, { value, level, version }]) => [name, { value, level, version }]));
  }

  /** The environment a replica of `project` in `environment` runs with; empty when neither exists yet. */
  async runtimeEnv(project: string, environment: string): Promise<Record<string, string>> {
    const scope = await this.idsOf(project, environment);
    if (!scope) return {};
    return Object.fromEntries([...(await this.resolve(scope))].map(([name, { value }]) => [name, value]));
  }

  /** The secrets a build declares, resolved for its environment; a clear error for any that is not set. */
  async buildSecrets(scope: Required<SecretScope>, names: readonly string[], where: { project: string; environment: string }): Promise<NamedValue[]> {
    if (names.length === 0) return [];
    const resolved = await this.resolve(scope);
    const missing = names.filter((name) => !resolved.has(name));
    if (missing.length > 0) {
      throw new MaestroError(
        'validation_error',
        `the build declares ${missing.length === 1 ? 'the secret' : 'secrets'} ${missing.join(', ')} (build.secrets in maestro.yml), ` +
          `not set for project ${where.project} in ${where.environment}; set ${missing.length === 1 ? 'it' : 'them'} with ` +
          `\`maestro secrets set ${missing[0]}=... --project ${where.project}\` (add --env ${where.environment} for this environment only)`,
        { missing },
      );
    }
    return names.map((name) => ({ name, value: resolved.get(name)!.value }));
  }

  /**
   * A digest of what reaches an environment, to tell whether a change changed what its apps see. It
   * stays in memory; nothing derived from values is stored.
   */
  async fingerprint(scope: Required<SecretScope>): Promise<string> {
    const hash = createHash('sha256');
    for (const [name, { value }] of [...(await this.resolve(scope))].sort(([a], [b]) => a.localeCompare(b))) hash.update(`${name}\0${value}\0`);
    return hash.digest('hex');
  }

  // ---- the master key ------------------------------------------------------------------------------

  /**
   * Wraps every data key, the signing keys and the check under a new master key, in one transaction,
   * while everything keeps running (the data keys themselves do not change). With the key file, the
   * new key is written beside the old, which stays as master.key.previous until the re-wrap commits.
   * With MAESTRO_MASTER_KEY the new key must be given (and set in the variable before the next start).
   */
  rotateMasterKey(input: { newKey?: Buffer } = {}): Promise<RotationResult> {
    return this.exclusive(async () => {
      const current = this.master;
      if (current.fromEnv && !input.newKey) {
        throw new MaestroError(
          'validation_error',
          `the master key comes from ${MASTER_KEY_ENV}, which Maestro cannot change: make a new key (\`openssl rand -base64 32 > new.key\`), ` +
            `run \`maestro secrets rotate-master-key --new-key-file new.key\`, then set ${MASTER_KEY_ENV} to the contents of new.key before Maestro next starts`,
        );
      }
      const next = input.newKey ?? randomBytes(MASTER_KEY_BYTES);
      if (next.length !== MASTER_KEY_BYTES) throw new MaestroError('validation_error', `a master key is ${MASTER_KEY_BYTES} bytes; the new one has ${next.length}`);
      if (next.equals(current.bytes)) throw new MaestroError('validation_error', 'the new master key is the one in use; make a new one with `openssl rand -base64 32`');
      if (!current.fromEnv) await replaceMasterKeyFile(this.options.dataDir, current.bytes, next);
      let report;
      try {
        report = await rewrapAll(this.store, current.bytes, next);
      } catch (error) {
        if (!current.fromEnv) await restorePreviousMasterKeyFile(this.options.dataDir);
        throw error;
      }
      this.master = { ...current, bytes: next };
      if (!current.fromEnv) await forgetPreviousMasterKey(this.options.dataDir);
      this.options.logger?.info({ keyId: report.keyId, dataKeys: report.dataKeys, signingKeys: report.signingKeys }, 'master key rotated');
      return { ...report, origin: current.origin, fromEnv: current.fromEnv };
    });
  }

  // ---- inside --------------------------------------------------------------------------------------

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.keyWork.then(work, work);
    this.keyWork = run.catch(() => undefined);
    return run;
  }

  private async open(secret: SealedSecret): Promise<string> {
    const keyScope = dataKeyScope(secret);
    const dataKey = await this.dataKeyFor(keyScope, { create: false });
    if (dataKey.id !== secret.dataKeyId) {
      throw new MaestroError('internal', `secret ${secret.name} names data key ${secret.dataKeyId}, not its scope's (${dataKey.id}); set it again`);
    }
    return openValue(dataKey.key, secret.valueSealed, { ...secret, name: secret.name, version: secret.version });
  }

  /** A scope's data key, unwrapped (and made, when `create`), cached: a rotation re-wraps it but never changes it. */
  private async dataKeyFor(scope: DataKeyScope, options: { create: boolean }): Promise<{ id: string; key: Buffer }> {
    const cacheKey = `${scope.organisationId}/${scope.projectId ?? ''}`;
    const cached = this.dataKeys.get(cacheKey);
    if (cached) return cached;
    let record = await this.store.secrets.dataKey(scope);
    if (!record) {
      if (!options.create) throw new MaestroError('internal', `no data key for ${scope.projectId ? `project ${scope.projectId}` : `organisation ${scope.organisationId}`}`);
      record = await this.exclusive(() =>
        this.store.transaction(async (tx) => {
          // Held to the commit, so a rotation elsewhere either re-wraps this key too or comes after it.
          const check = await tx.secrets.masterCheck({ lock: 'share' });
          if (check && !opensCheck(this.master.bytes, check.checkSealed)) await this.reloadMasterKey(check);
          return tx.secrets.createDataKey({ ...scope, wrappedKey: wrapDataKey(this.master.bytes, newDataKey(), scope) });
        }),
      );
    }
    let key = unwrapDataKey(this.master.bytes, record.wrappedKey, scope);
    if (!key) {
      await this.reloadMasterKey();
      key = unwrapDataKey(this.master.bytes, record.wrappedKey, scope);
    }
    if (!key) throw new MaestroError('internal', `data key ${record.id} does not open with the master key in use (${this.master.origin})`);
    const entry = { id: record.id, key };
    this.dataKeys.set(cacheKey, entry);
    return entry;
  }

  /** Another control plane rotated the key: read it again from where this one came from (checked against `known`, or the stored check). */
  private async reloadMasterKey(known?: MasterKeyCheck): Promise<void> {
    const again = await readMasterKey(this.options.dataDir, this.options.env ?? process.env);
    const check = known ?? (await this.store.secrets.masterCheck());
    if (again && check && opensCheck(again.bytes, check.checkSealed)) {
      this.master = again;
      return;
    }
    throw new MaestroError(
      'unavailable',
      `the master key was rotated (now key ${check?.keyId ?? '?'}, this control plane holds ${masterKeyId(this.master.bytes)}); ` +
        `restart this control plane with the new key (${this.master.fromEnv ? `set ${MASTER_KEY_ENV}` : this.master.origin})`,
    );
  }

  private async idsOf(project: string, environment?: string): Promise<Required<SecretScope> | undefined> {
    const found = await this.store.projects.scope(project);
    if (!found) return undefined;
    const env = environment === undefined ? undefined : await this.store.environments.get(found.id, environment);
    if (!env) return undefined;
    return { organisationId: found.organisationId, projectId: found.id, environmentId: env.id };
  }

  /** The ids of a target; the project and environment are made when `create`, else `not_found`. */
  private async scopeOf(target: SecretTarget, options: { create: boolean }): Promise<SecretScope> {
    if (target.project === undefined) {
      if (target.environment !== undefined) throw new MaestroError('validation_error', 'an environment belongs to a project: give the project too');
      return { organisationId: target.organisationId };
    }
    let found = await this.store.projects.scope(target.project);
    if (!found && options.create) {
      const made = await this.store.projects.ensure(target.project);
      found = await this.store.projects.scope(made.name);
    }
    if (!found) throw new MaestroError('not_found', `no project named ${JSON.stringify(target.project)}`, { project: target.project });
    if (found.organisationId !== target.organisationId) {
      throw new MaestroError('not_found', `no project named ${JSON.stringify(target.project)} in this organisation`, { project: target.project });
    }
    if (target.environment === undefined) return { organisationId: found.organisationId, projectId: found.id };
    const environment = options.create
      ? await this.store.environments.ensure(found.id, target.environment)
      : await this.store.environments.get(found.id, target.environment);
    if (!environment) throw new MaestroError('not_found', `project ${target.project} has no environment ${JSON.stringify(target.environment)}`);
    return { organisationId: found.organisationId, projectId: found.id, environmentId: environment.id };
  }
}

const RANK: Record<ScopeLevel, number> = { organisation: 0, project: 1, environment: 2 };

function levelOf(scope: SecretScope): ScopeLevel {
  return scope.environmentId ? 'environment' : scope.projectId ? 'project' : 'organisation';
}

function dataKeyScope(scope: SecretScope): DataKeyScope {
  return { organisationId: scope.organisationId, ...(scope.projectId ? { projectId: scope.projectId } : {}) };
}

function listing(record: SecretRecord, level: ScopeLevel, project?: string, environment?: string): SecretListing {
  return {
    name: record.name,
    level,
    ...(project !== undefined ? { project } : {}),
    ...(environment !== undefined ? { environment } : {}),
    version: record.version,
    updatedAt: record.updatedAt,
    ...(record.updatedBy ? { updatedBy: record.updatedBy } : {}),
  };
}

function describeTarget(target: SecretTarget): string {
  if (target.project === undefined) return 'the organisation';
  return target.environment === undefined ? `project ${target.project}` : `project ${target.project} in ${target.environment}`;
}
