/** The store: Postgres schema, migrations, repositories and the deployment state machine. */
export { openStore, type StoreOptions } from './open-store.js';
export type { Store } from './store.js';
export {
  DEPLOYMENT_STATUSES,
  IN_PROGRESS_STATUSES,
  canTransition,
  isDeploymentStatus,
  isInProgress,
  isTerminal,
  nextStatuses,
  type DeploymentStatus,
} from './deployment-state.js';
export { newId, type IdPrefix } from './ids.js';
export { MIGRATIONS, type Migration } from './schema.js';
export { REVISION_STATES } from './repositories/revisions.js';
export type { ProjectsRepository, ServicesRepository, EnvironmentsRepository } from './repositories/projects.js';
export type { SourcesRepository, ArtifactsRepository } from './repositories/blobs.js';
export type { BuildsRepository } from './repositories/builds.js';
export type { DeploymentsRepository } from './repositories/deployments.js';
export type { RevisionsRepository } from './repositories/revisions.js';
export type { ReleasesRepository, NewRelease } from './repositories/releases.js';
export type { LiveRepository } from './repositories/live.js';
export type { ReplicasRepository } from './repositories/replicas.js';
export type { EventsRepository } from './repositories/events.js';
export { PERSONAL_TOKEN_ROLE, type TokensRepository, type NewToken } from './repositories/tokens.js';
export type { OrganisationsRepository, Organisation } from './repositories/organisations.js';
export { checkEmail, type UsersRepository, type User } from './repositories/users.js';
export { checkRole, type MembershipsRepository, type Membership, type Scope } from './repositories/memberships.js';
export type { UserIdentitiesRepository, UserIdentity } from './repositories/user-identities.js';
export { SESSION_METHODS, type SessionsRepository, type Session, type SessionMethod } from './repositories/sessions.js';
export { THROTTLED, type LoginAttemptsRepository, type FailureCount } from './repositories/login-attempts.js';
export { DEFAULT_ORGANISATION_ID } from './schema-identity.js';
export type { SettingsRepository } from './repositories/settings.js';
export type { RemoteCacheRepository } from './repositories/remote-cache.js';
export { BUILD_STEP_NAMES, type BuildStepsRepository } from './repositories/build-steps.js';
export type { JobsRepository, ClaimOptions } from './repositories/jobs.js';
export type { TrafficRepository } from './repositories/traffic.js';
export { PREVIEW_KINDS, PREVIEW_ORIGINS, type PreviewsRepository, type PreviewSubject, type RecordKind } from './repositories/previews.js';
export type {
  LifecycleEventsRepository,
  LifecycleEventRecord,
  LifecycleEventFilter,
  NewLifecycleEvent,
} from './repositories/lifecycle-events.js';
export {
  DELIVERY_STATUSES,
  type WebhooksRepository,
  type DeliveriesRepository,
  type Webhook,
  type WebhookDelivery,
  type DeliveryStatus,
  type DeliveryOutcome,
  type ClaimedDelivery,
} from './repositories/webhooks.js';
export {
  GIT_HOST_PROVIDERS,
  type GitHostProvider,
  type ProjectHook,
  type ProjectHookWithSecrets,
  type ProjectHookInput,
  type ProjectHooksRepository,
  type HookDeliveriesRepository,
  type HookDelivery,
} from './repositories/project-hooks.js';
export {
  COMMIT_STATES,
  type CommitState,
  type NewCommitStatus,
  type CommitStatusRecord,
  type ClaimedCommitStatus,
  type CommitStatusesRepository,
} from './repositories/commit-statuses.js';
export type { AttestationsRepository, AttestationRecord, NewAttestation } from './repositories/attestations.js';
export type { SigningKeysRepository, SigningKeyRecord, SigningKeyWithSecret, NewSigningKey } from './repositories/signing-keys.js';
export type { SecretsRepository, SecretScope, SecretRecord, SealedSecret, DataKeyRecord, MasterKeyCheck } from './repositories/secrets.js';
export {
  VULNERABILITY_SCAN_STATUSES,
  type VulnerabilityScanRecord,
  type VulnerabilityScanStatus,
  type VulnerabilityScansRepository,
} from './repositories/vulnerability-scans.js';
export type { SbomRecord, SbomsRepository } from './repositories/sboms.js';
export {
  POLICY_OUTCOMES,
  type PolicyWaiver,
  type NewPolicyWaiver,
  type PolicyWaiversRepository,
  type PolicyEvaluationRecord,
  type NewPolicyEvaluation,
  type PolicyEvaluationsRepository,
} from './repositories/policies.js';
export type * from './types.js';
