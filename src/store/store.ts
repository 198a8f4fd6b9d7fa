import { MaestroError } from '../common/index.js';
import type { Db, Queryable } from './db.js';
import { guardTransactions } from './transaction-guard.js';
import { artifactsRepository, sourcesRepository, type ArtifactsRepository, type SourcesRepository } from './repositories/blobs.js';
import { buildsRepository, type BuildsRepository } from './repositories/builds.js';
import { deploymentsRepository, type DeploymentsRepository } from './repositories/deployments.js';
import { eventsRepository, type EventsRepository } from './repositories/events.js';
import { liveRepository, type LiveRepository } from './repositories/live.js';
import {
  environmentsRepository,
  projectsRepository,
  servicesRepository,
  type EnvironmentsRepository,
  type ProjectsRepository,
  type ServicesRepository,
} from './repositories/projects.js';
import { releasesRepository, type ReleasesRepository } from './repositories/releases.js';
import { remoteCacheRepository, type RemoteCacheRepository } from './repositories/remote-cache.js';
import { replicasRepository, type ReplicasRepository } from './repositories/replicas.js';
import { revisionsRepository, type RevisionsRepository } from './repositories/revisions.js';
import { settingsRepository, type SettingsRepository } from './repositories/settings.js';
import { tokensRepository, type TokensRepository } from './repositories/tokens.js';
import { organisationsRepository, type OrganisationsRepository } from './repositories/organisations.js';
import { usersRepository, type UsersRepository } from './repositories/users.js';
import { membershipsRepository, type MembershipsRepository } from './repositories/memberships.js';
import { userIdentitiesRepository, type UserIdentitiesRepository } from './repositories/user-identities.js';
import { sessionsRepository, type SessionsRepository } from './repositories/sessions.js';
import { loginAttemptsRepository, type LoginAttemptsRepository } from './repositories/login-attempts.js';
import { buildStepsRepository, type BuildStepsRepository } from './repositories/build-steps.js';
import { jobsRepository, type JobsRepository } from './repositories/jobs.js';
import { lifecycleEventsRepository, type LifecycleEventsRepository } from './repositories/lifecycle-events.js';
import { deliveriesRepository, webhooksRepository, type DeliveriesRepository, type WebhooksRepository } from './repositories/webhooks.js';
import { trafficRepository, type TrafficRepository } from './repositories/traffic.js';
import { hookDeliveriesRepository, projectHooksRepository, type HookDeliveriesRepository, type ProjectHooksRepository } from './repositories/project-hooks.js';
import { commitStatusesRepository, type CommitStatusesRepository } from './repositories/commit-statuses.js';
import { previewsRepository, type PreviewsRepository } from './repositories/previews.js';
import { policyEvaluationsRepository, policyWaiversRepository, type PolicyEvaluationsRepository, type PolicyWaiversRepository } from './repositories/policies.js';
import { sbomsRepository, type SbomsRepository } from './repositories/sboms.js';
import { vulnerabilityScansRepository, type VulnerabilityScansRepository } from './repositories/vulnerability-scans.js';
import { attestationsRepository, type AttestationsRepository } from './repositories/attestations.js';
import { signingKeysRepository, type SigningKeysRepository } from './repositories/signing-keys.js';
import { secretsRepository, type SecretsRepository } from './repositories/secrets.js';

/** Everything Maestro remembers. Every step of a change is a record here, so any step can resume after a crash. */
export interface Store {
  readonly kind: 'pglite' | 'postgres';
  /** Closes the database and releases the data directory. */
  close(): Promise<void>;
  /**
   * Runs `fn` in one transaction, with a store bound to it: use `tx` (not the outer store) inside,
   * since on PGlite transactions run one at a time and the outer store waits for this one to end.
   * Calling `transaction` on `tx` joins the same transaction.
   */
  transaction<T>(fn: (tx: Store) => Promise<T>): Promise<T>;
  projects: ProjectsRepository;
  services: ServicesRepository;
  environments: EnvironmentsRepository;
  sources: SourcesRepository;
  artifacts: ArtifactsRepository;
  builds: BuildsRepository;
  deployments: DeploymentsRepository;
  revisions: RevisionsRepository;
  releases: ReleasesRepository;
  /** The single owner of "what serves": one row per service and environment. */
  live: LiveRepository;
  replicas: ReplicasRepository;
  events: EventsRepository;
  tokens: TokensRepository;
  organisations: OrganisationsRepository;
  /** People: their email, password hash (or none, for SSO) and whether they are disabled. */
  users: UsersRepository;
  /** Each person's role in an organisation or one of its projects. */
  memberships: MembershipsRepository;
  /** Who people are at OpenID Connect providers (issuer, subject). */
  userIdentities: UserIdentitiesRepository;
  /** Console sessions, by the hash of their cookie. */
  sessions: SessionsRepository;
  /** Every login attempt, for throttling and the record. */
  loginAttempts: LoginAttemptsRepository;
  /** The stages of each build's pipeline. */
  buildSteps: BuildStepsRepository;
  /** The durable job queue runners take builds from. */
  jobs: JobsRepository;
  /** Lifecycle events (deployment.started, ...) and the outbox of their webhook deliveries. */
  lifecycle: LifecycleEventsRepository;
  webhooks: WebhooksRepository;
  /** Each event's way to each webhook: attempts, outcome, the dead letters. */
  deliveries: DeliveriesRepository;
  /** A rollout's new revision and its share of traffic. */
  traffic: TrafficRepository;
  settings: SettingsRepository;
  /** Turborepo and Nx task outputs: which blob holds each (project, task hash). */
  remoteCache: RemoteCacheRepository;
  /** Each project's link to its GitHub or GitLab repository (webhook secret, status settings). */
  projectHooks: ProjectHooksRepository;
  /** Provider webhook deliveries already acted on (providers redeliver). */
  hookDeliveries: HookDeliveriesRepository;
  /** The outbox of commit statuses owed to GitHub and GitLab. */
  commitStatuses: CommitStatusesRepository;
  /** Preview environments of branches and pull requests. */
  previews: PreviewsRepository;
  /** People's exceptions to a policy: for one artifact, or until a time. */
  policyWaivers: PolicyWaiversRepository;
  /** Each policy gate's decision, with its results and the input it read. */
  policyEvaluations: PolicyEvaluationsRepository;
  /** Each build's SBOM (CycloneDX), also found by the artifact it describes. */
  sboms: SbomsRepository;
  /** Each build's vulnerability scan, and scan answers cached by components and advisories. */
  vulnerabilityScans: VulnerabilityScansRepository;
  /** Signed statements about artifacts (SLSA provenance, SBOMs) as Sigstore bundles. */
  attestations: AttestationsRepository;
  /** The server's signing keys; the private halves sealed under a master key kept outside the database. */
  signingKeys: SigningKeysRepository;
  /** Secrets, their versions and data keys: all sealed, never a value in the clear. */
  secrets: SecretsRepository;
}

function repositories(q: Queryable) {
  return {
    projects: projectsRepository(q),
    services: servicesRepository(q),
    environments: environmentsRepository(q),
    sources: sourcesRepository(q),
    artifacts: artifactsRepository(q),
    builds: buildsRepository(q),
    deployments: deploymentsRepository(q),
    revisions: revisionsRepository(q),
    releases: releasesRepository(q),
    live: liveRepository(q),
    replicas: replicasRepository(q),
    events: eventsRepository(q),
    tokens: tokensRepository(q),
    organisations: organisationsRepository(q),
    users: usersRepository(q),
    memberships: membershipsRepository(q),
    userIdentities: userIdentitiesRepository(q),
    sessions: sessionsRepository(q),
    loginAttempts: loginAttemptsRepository(q),
    buildSteps: buildStepsRepository(q),
    jobs: jobsRepository(q),
    lifecycle: lifecycleEventsRepository(q),
    webhooks: webhooksRepository(q),
    deliveries: deliveriesRepository(q),
    traffic: trafficRepository(q),
    settings: settingsRepository(q),
    remoteCache: remoteCacheRepository(q),
    projectHooks: projectHooksRepository(q),
    hookDeliveries: hookDeliveriesRepository(q),
    commitStatuses: commitStatusesRepository(q),
    previews: previewsRepository(q),
    policyWaivers: policyWaiversRepository(q),
    policyEvaluations: policyEvaluationsRepository(q),
    sboms: sbomsRepository(q),
    vulnerabilityScans: vulnerabilityScansRepository(q),
    attestations: attestationsRepository(q),
    signingKeys: signingKeysRepository(q),
    secrets: secretsRepository(q),
  };
}

/** The store over an open database; `onClose` releases what opening it took (the data directory lock). */
export function createStore(openDb: Db, onClose: () => Promise<void> = async () => {}): Store {
  const db = guardTransactions(openDb);
  let closed: Promise<void> | undefined;
  const store: Store = {
    kind: db.kind,
    close() {
      closed ??= db.close().finally(onClose);
      return closed;
    },
    transaction: (fn) => db.transaction((tx) => fn(transactionStore(db.kind, tx))),
    ...repositories(db),
  };
  return store;
}

function transactionStore(kind: Store['kind'], tx: Queryable): Store {
  const store: Store = {
    kind,
    close() {
      return Promise.reject(new MaestroError('internal', 'close the store itself, not a transaction of it'));
    },
    transaction: (fn) => fn(store),
    ...repositories(tx),
  };
  return store;
}
