import { IDENTITY_SQL } from './schema-identity.js';
import { SECRETS_SQL } from './schema-secrets.js';

/**
 * The schema, as numbered migrations applied in order. Never edit one that has shipped: add the next.
 * Constraint names matter: db-errors.ts turns violations of them into messages.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

const INITIAL = `
CREATE TABLE projects (
  id text PRIMARY KEY,
  name text NOT NULL CONSTRAINT projects_name_key UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE services (
  id text PRIMARY KEY,
  project_id text NOT NULL CONSTRAINT services_project_fk REFERENCES projects (id) ON DELETE CASCADE,
  name text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT services_name_key UNIQUE (project_id, name),
  -- lets deployments check that their service belongs to their project
  CONSTRAINT services_project_id_key UNIQUE (project_id, id)
);

CREATE TABLE environments (
  id text PRIMARY KEY,
  project_id text NOT NULL CONSTRAINT environments_project_fk REFERENCES projects (id) ON DELETE CASCADE,
  name text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT environments_name_key UNIQUE (project_id, name),
  CONSTRAINT environments_project_id_key UNIQUE (project_id, id)
);

-- Blobs are content-addressed files on disk; these rows say they are complete. Other tables name
-- them by digest without a foreign key, so blob garbage collection stays independent.
CREATE TABLE sources (
  digest text PRIMARY KEY,
  size_bytes bigint NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE artifacts (
  digest text PRIMARY KEY,
  size_bytes bigint NOT NULL,
  path text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE deployments (
  id text PRIMARY KEY,
  seq bigint GENERATED ALWAYS AS IDENTITY,
  project_id text NOT NULL CONSTRAINT deployments_project_fk REFERENCES projects (id) ON DELETE CASCADE,
  service_id text NOT NULL,
  environment_id text NOT NULL,
  source_digest text NOT NULL,
  commit text,
  message text,
  status text NOT NULL CONSTRAINT deployments_status_check
    CHECK (status IN ('pending', 'building', 'deploying', 'succeeded', 'failed', 'rolled_back', 'cancelled')),
  error text,
  release_id text,
  revision_id text,
  config jsonb NOT NULL,
  created_by text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz,
  CONSTRAINT deployments_service_fk FOREIGN KEY (project_id, service_id)
    REFERENCES services (project_id, id) ON DELETE CASCADE,
  CONSTRAINT deployments_environment_fk FOREIGN KEY (project_id, environment_id)
    REFERENCES environments (project_id, id) ON DELETE CASCADE
);
-- One in-progress deployment per service, environment and source: the idempotency key of createOrGetInProgress.
CREATE UNIQUE INDEX deployments_in_progress_key ON deployments (service_id, environment_id, source_digest)
  WHERE status IN ('pending', 'building', 'deploying');
CREATE INDEX deployments_unfinished ON deployments (seq) WHERE status IN ('pending', 'building', 'deploying');
CREATE INDEX deployments_by_seq ON deployments (seq);
CREATE INDEX deployments_by_project ON deployments (project_id, seq);
CREATE INDEX deployments_by_service ON deployments (service_id, seq);
CREATE INDEX deployments_by_environment ON deployments (environment_id, seq);

CREATE TABLE builds (
  id text PRIMARY KEY,
  seq bigint GENERATED ALWAYS AS IDENTITY,
  deployment_id text NOT NULL CONSTRAINT builds_deployment_fk REFERENCES deployments (id) ON DELETE CASCADE,
  source_digest text NOT NULL,
  status text NOT NULL CONSTRAINT builds_status_check
    CHECK (status IN ('pending', 'running', 'succeeded', 'failed', 'cancelled')),
  artifact_digest text,
  error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  started_at timestamptz,
  finished_at timestamptz
);
CREATE INDEX builds_by_deployment ON builds (deployment_id, seq);

CREATE TABLE revisions (
  id text PRIMARY KEY,
  seq bigint GENERATED ALWAYS AS IDENTITY,
  service_id text NOT NULL CONSTRAINT revisions_service_fk REFERENCES services (id) ON DELETE CASCADE,
  environment_id text NOT NULL CONSTRAINT revisions_environment_fk REFERENCES environments (id) ON DELETE CASCADE,
  artifact_digest text NOT NULL,
  config jsonb NOT NULL,
  state text NOT NULL CONSTRAINT revisions_state_check
    CHECK (state IN ('starting', 'healthy', 'warm', 'stopped', 'failed')),
  detail text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  -- lets releases and live state check that a revision belongs to their service and environment
  CONSTRAINT revisions_scope_key UNIQUE (service_id, environment_id, id)
);
CREATE INDEX revisions_by_scope ON revisions (service_id, environment_id, seq);

CREATE TABLE releases (
  id text PRIMARY KEY,
  service_id text NOT NULL CONSTRAINT releases_service_fk REFERENCES services (id) ON DELETE CASCADE,
  environment_id text NOT NULL CONSTRAINT releases_environment_fk REFERENCES environments (id) ON DELETE CASCADE,
  number integer NOT NULL,
  revision_id text NOT NULL,
  deployment_id text CONSTRAINT releases_deployment_fk REFERENCES deployments (id) ON DELETE SET NULL,
  kind text NOT NULL CONSTRAINT releases_kind_check CHECK (kind IN ('deploy', 'rollback')),
  reason text,
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT releases_number_key UNIQUE (service_id, environment_id, number),
  CONSTRAINT releases_scope_key UNIQUE (service_id, environment_id, id),
  CONSTRAINT releases_revision_fk FOREIGN KEY (service_id, environment_id, revision_id)
    REFERENCES revisions (service_id, environment_id, id) ON DELETE CASCADE
);

ALTER TABLE deployments
  ADD CONSTRAINT deployments_release_fk FOREIGN KEY (release_id) REFERENCES releases (id) ON DELETE SET NULL,
  ADD CONSTRAINT deployments_revision_fk FOREIGN KEY (revision_id) REFERENCES revisions (id) ON DELETE SET NULL;

-- The single owner of "what serves": one row per service and environment.
CREATE TABLE live_state (
  service_id text NOT NULL CONSTRAINT live_service_fk REFERENCES services (id) ON DELETE CASCADE,
  environment_id text NOT NULL CONSTRAINT live_environment_fk REFERENCES environments (id) ON DELETE CASCADE,
  release_id text NOT NULL,
  revision_id text NOT NULL,
  previous_revision_id text,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (service_id, environment_id),
  CONSTRAINT live_release_fk FOREIGN KEY (service_id, environment_id, release_id)
    REFERENCES releases (service_id, environment_id, id) ON DELETE CASCADE,
  CONSTRAINT live_revision_fk FOREIGN KEY (service_id, environment_id, revision_id)
    REFERENCES revisions (service_id, environment_id, id) ON DELETE CASCADE,
  -- losing the rollback target must not take down what serves
  CONSTRAINT live_previous_revision_fk FOREIGN KEY (service_id, environment_id, previous_revision_id)
    REFERENCES revisions (service_id, environment_id, id) ON DELETE SET NULL (previous_revision_id)
);

CREATE TABLE replicas (
  id text PRIMARY KEY,
  revision_id text NOT NULL CONSTRAINT replicas_revision_fk REFERENCES revisions (id) ON DELETE CASCADE,
  pid integer,
  port integer,
  state text NOT NULL,
  restarts integer NOT NULL DEFAULT 0,
  last_error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX replicas_by_revision ON replicas (revision_id);

-- The outbox: kept when the records it names are deleted, so no foreign keys.
CREATE TABLE events (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  type text NOT NULL,
  deployment_id text,
  project_id text,
  data jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX events_by_deployment ON events (deployment_id, id);

CREATE TABLE tokens (
  id text PRIMARY KEY,
  name text NOT NULL,
  hash text NOT NULL,
  role text NOT NULL,
  expires_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz,
  revoked_at timestamptz
);
CREATE UNIQUE INDEX tokens_hash_key ON tokens (hash);
CREATE UNIQUE INDEX tokens_name_active ON tokens (name) WHERE revoked_at IS NULL;

CREATE TABLE settings (
  key text PRIMARY KEY,
  value jsonb NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
`;

/** Pipeline steps and the durable job queue that runners take builds from. */
const PIPELINES = `
CREATE TABLE build_steps (
  build_id text NOT NULL CONSTRAINT build_steps_build_fk REFERENCES builds (id) ON DELETE CASCADE,
  name text NOT NULL CONSTRAINT build_steps_name_check CHECK (name IN ('install', 'build', 'test', 'package')),
  position integer NOT NULL,
  status text NOT NULL CONSTRAINT build_steps_status_check
    CHECK (status IN ('pending', 'running', 'succeeded', 'failed', 'skipped', 'cancelled')),
  command text,
  exit_code integer,
  cache text CONSTRAINT build_steps_cache_check CHECK (cache IN ('hit', 'miss')),
  attempt integer NOT NULL DEFAULT 0,
  error text,
  started_at timestamptz,
  finished_at timestamptz,
  PRIMARY KEY (build_id, name)
);

CREATE TABLE jobs (
  id text PRIMARY KEY,
  seq bigint GENERATED ALWAYS AS IDENTITY,
  kind text NOT NULL,
  project_id text,
  build_id text CONSTRAINT jobs_build_fk REFERENCES builds (id) ON DELETE CASCADE,
  payload jsonb NOT NULL DEFAULT '{}'::jsonb,
  status text NOT NULL CONSTRAINT jobs_status_check
    CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
  attempts integer NOT NULL DEFAULT 0,
  max_attempts integer NOT NULL DEFAULT 3,
  run_after timestamptz NOT NULL DEFAULT now(),
  lease_owner text,
  lease_expires_at timestamptz,
  cancel_requested boolean NOT NULL DEFAULT false,
  error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  started_at timestamptz,
  finished_at timestamptz
);
CREATE INDEX jobs_ready ON jobs (seq) WHERE status = 'queued';
CREATE INDEX jobs_running ON jobs (project_id) WHERE status = 'running';
CREATE UNIQUE INDEX jobs_one_per_build ON jobs (build_id) WHERE status IN ('queued', 'running');
`;

// Task outputs of the developers' own Turborepo and Nx builds, keyed by project (the namespace) and the
// client's task hash. The bytes are content-addressed files under the data directory, named by digest;
// entries with the same bytes share one file, so a file goes only when no entry names its digest.
const REMOTE_CACHE = `
CREATE TABLE remote_cache_entries (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  project_id text NOT NULL CONSTRAINT remote_cache_project_fk REFERENCES projects (id) ON DELETE CASCADE,
  hash text NOT NULL,
  digest text NOT NULL,
  size_bytes bigint NOT NULL,
  duration_ms bigint,
  tag text,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_access_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT remote_cache_key UNIQUE (project_id, hash)
);
-- eviction walks entries from the least recently used
CREATE INDEX remote_cache_by_access ON remote_cache_entries (last_access_at);
CREATE INDEX remote_cache_by_digest ON remote_cache_entries (digest);
`;

/** Progressive delivery: a new revision's share of traffic during a rollout, and each rollout's state. */
const TRAFFIC = `
CREATE TABLE traffic_shifts (
  service_id text NOT NULL CONSTRAINT traffic_service_fk REFERENCES services (id) ON DELETE CASCADE,
  environment_id text NOT NULL CONSTRAINT traffic_environment_fk REFERENCES environments (id) ON DELETE CASCADE,
  revision_id text NOT NULL CONSTRAINT traffic_revision_fk REFERENCES revisions (id) ON DELETE CASCADE,
  deployment_id text,
  weight integer NOT NULL CONSTRAINT traffic_weight_check CHECK (weight BETWEEN 0 AND 100),
  preview boolean NOT NULL DEFAULT false,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (service_id, environment_id)
);

ALTER TABLE deployments ADD COLUMN rollout_state jsonb;
ALTER TABLE deployments ADD COLUMN rollout_requests jsonb NOT NULL DEFAULT '{}'::jsonb;
`;

// Lifecycle events (deployment.started, ...) share the events table with the deployment log; their
// release, revision, actor and reason get columns so they can be listed and filtered. Webhook
// deliveries are the outbox: written in the event's transaction, sent afterwards by the dispatcher.
// The secret stays readable because the dispatcher signs with it; the API shows it only once.
const LIFECYCLE_EVENTS = `
ALTER TABLE events
  ADD COLUMN release_id text,
  ADD COLUMN revision_id text,
  ADD COLUMN actor text,
  ADD COLUMN reason text;
CREATE INDEX events_by_type ON events (type, id);
CREATE INDEX events_by_project ON events (project_id, id);

CREATE TABLE webhooks (
  id text PRIMARY KEY,
  seq bigint GENERATED ALWAYS AS IDENTITY,
  url text NOT NULL,
  events text[] NOT NULL CONSTRAINT webhooks_events_check CHECK (cardinality(events) > 0),
  project_id text CONSTRAINT webhooks_project_fk REFERENCES projects (id) ON DELETE CASCADE,
  secret text NOT NULL,
  created_by text,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE webhook_deliveries (
  id text PRIMARY KEY,
  seq bigint GENERATED ALWAYS AS IDENTITY,
  webhook_id text NOT NULL CONSTRAINT webhook_deliveries_webhook_fk REFERENCES webhooks (id) ON DELETE CASCADE,
  event_id bigint NOT NULL CONSTRAINT webhook_deliveries_event_fk REFERENCES events (id) ON DELETE CASCADE,
  status text NOT NULL CONSTRAINT webhook_deliveries_status_check
    CHECK (status IN ('pending', 'delivering', 'succeeded', 'dead')),
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  lease_owner text,
  lease_expires_at timestamptz,
  last_status_code integer,
  last_error text,
  last_attempt_at timestamptz,
  delivered_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_in_flight ON webhook_deliveries (lease_expires_at) WHERE status = 'delivering';
CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries (webhook_id, seq);
`;

// Git-native delivery: how a project takes pushes (its production branch, its previews' limits), where
// its code lives on GitHub or GitLab, the preview environments pushes create, the webhook deliveries
// already handled (providers redeliver), and the commit statuses owed to the providers (an outbox).
const GIT = `
ALTER TABLE projects
  ADD COLUMN production_branch text NOT NULL DEFAULT 'main',
  ADD COLUMN preview_ttl_ms bigint NOT NULL DEFAULT 259200000,
  ADD COLUMN max_previews integer NOT NULL DEFAULT 10
    CONSTRAINT projects_max_previews_check CHECK (max_previews >= 0),
  ADD COLUMN preview_idle_ms bigint;

CREATE TABLE project_hooks (
  project_id text NOT NULL CONSTRAINT project_hooks_project_fk REFERENCES projects (id) ON DELETE CASCADE,
  provider text NOT NULL CONSTRAINT project_hooks_provider_check CHECK (provider IN ('github', 'gitlab')),
  repository text NOT NULL,
  secret text NOT NULL,
  status_url text,
  status_token text,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (project_id, provider)
);
CREATE UNIQUE INDEX project_hooks_repository_key ON project_hooks (provider, lower(repository));

CREATE TABLE hook_deliveries (
  provider text NOT NULL,
  delivery_id text NOT NULL,
  project_id text,
  event text NOT NULL,
  outcome text,
  received_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (provider, delivery_id)
);

CREATE TABLE previews (
  id text PRIMARY KEY,
  seq bigint GENERATED ALWAYS AS IDENTITY,
  project_id text NOT NULL CONSTRAINT previews_project_fk REFERENCES projects (id) ON DELETE CASCADE,
  environment_id text CONSTRAINT previews_environment_fk REFERENCES environments (id) ON DELETE SET NULL,
  name text NOT NULL,
  kind text NOT NULL CONSTRAINT previews_kind_check CHECK (kind IN ('branch', 'pull_request')),
  branch text NOT NULL,
  pr_number integer,
  head_sha text,
  origin text NOT NULL CONSTRAINT previews_origin_check CHECK (origin IN ('push', 'github', 'gitlab')),
  state text NOT NULL CONSTRAINT previews_state_check CHECK (state IN ('active', 'sleeping', 'destroyed')),
  expires_at timestamptz NOT NULL,
  last_request_at timestamptz,
  destroy_reason text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  destroyed_at timestamptz
);
CREATE UNIQUE INDEX previews_name_live ON previews (project_id, name) WHERE state <> 'destroyed';
CREATE INDEX previews_by_expiry ON previews (expires_at) WHERE state <> 'destroyed';

CREATE TABLE commit_statuses (
  id text PRIMARY KEY,
  seq bigint GENERATED ALWAYS AS IDENTITY,
  project_id text NOT NULL CONSTRAINT commit_statuses_project_fk REFERENCES projects (id) ON DELETE CASCADE,
  provider text NOT NULL CONSTRAINT commit_statuses_provider_check CHECK (provider IN ('github', 'gitlab')),
  repository text NOT NULL,
  sha text NOT NULL,
  state text NOT NULL CONSTRAINT commit_statuses_state_check CHECK (state IN ('pending', 'success', 'failure', 'error')),
  context text NOT NULL,
  description text NOT NULL,
  target_url text,
  status text NOT NULL CONSTRAINT commit_statuses_status_check CHECK (status IN ('pending', 'delivering', 'succeeded', 'dead')),
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  lease_expires_at timestamptz,
  last_error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  delivered_at timestamptz
);
CREATE INDEX commit_statuses_due ON commit_statuses (next_attempt_at) WHERE status = 'pending';

ALTER TABLE deployments ADD COLUMN ref text;
`;

// Supply-chain evidence: each build's SBOM and vulnerability scan (cached by lockfile and advisories),
// the server's signing keys (the private half encrypted with a key that never enters the database), the
// attestations of each artifact (Sigstore bundles), policy waivers and every gate's decision.
const SUPPLY_CHAIN = `
CREATE TABLE sboms (
  build_id text PRIMARY KEY CONSTRAINT sboms_build_fk REFERENCES builds (id) ON DELETE CASCADE,
  artifact_digest text,
  document jsonb NOT NULL,
  complete boolean NOT NULL,
  problems jsonb NOT NULL DEFAULT '[]'::jsonb,
  lockfile_digest text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sboms_by_artifact ON sboms (artifact_digest);

CREATE TABLE vulnerability_scans (
  build_id text PRIMARY KEY CONSTRAINT vulnerability_scans_build_fk REFERENCES builds (id) ON DELETE CASCADE,
  status text NOT NULL CONSTRAINT vulnerability_scans_status_check CHECK (status IN ('complete', 'unavailable')),
  result jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- A scan's findings for one set of components and one advisory set, reused by every build that has them.
CREATE TABLE vulnerability_scan_cache (
  key text PRIMARY KEY,
  result jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE signing_keys (
  id text PRIMARY KEY,
  algorithm text NOT NULL,
  public_key_pem text NOT NULL,
  private_key_sealed text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  retired_at timestamptz
);
CREATE UNIQUE INDEX signing_keys_active ON signing_keys ((true)) WHERE retired_at IS NULL;

CREATE TABLE attestations (
  id text PRIMARY KEY,
  artifact_digest text NOT NULL,
  build_id text CONSTRAINT attestations_build_fk REFERENCES builds (id) ON DELETE SET NULL,
  predicate_type text NOT NULL,
  key_id text NOT NULL,
  bundle jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT attestations_subject_key UNIQUE (artifact_digest, predicate_type)
);

CREATE TABLE policy_waivers (
  id text PRIMARY KEY,
  project_id text NOT NULL CONSTRAINT policy_waivers_project_fk REFERENCES projects (id) ON DELETE CASCADE,
  policy text NOT NULL,
  artifact_digest text,
  environment text,
  waived_by text NOT NULL,
  reason text NOT NULL,
  expires_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz
);
CREATE INDEX policy_waivers_by_project ON policy_waivers (project_id, policy);

CREATE TABLE policy_evaluations (
  id text PRIMARY KEY,
  seq bigint GENERATED ALWAYS AS IDENTITY,
  deployment_id text CONSTRAINT policy_evaluations_deployment_fk REFERENCES deployments (id) ON DELETE CASCADE,
  project_id text NOT NULL,
  environment text NOT NULL,
  outcome text NOT NULL CONSTRAINT policy_evaluations_outcome_check CHECK (outcome IN ('allow', 'deny')),
  results jsonb NOT NULL,
  input jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX policy_evaluations_by_deployment ON policy_evaluations (deployment_id, seq);
`;

export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: 'initial schema', sql: INITIAL },
  { version: 2, name: 'pipelines and job queue', sql: PIPELINES },
  { version: 3, name: 'remote cache', sql: REMOTE_CACHE },
  { version: 4, name: 'lifecycle events and webhooks', sql: LIFECYCLE_EVENTS },
  { version: 5, name: 'traffic shifts and rollout state', sql: TRAFFIC },
  { version: 6, name: 'git pushes, previews and commit statuses', sql: GIT },
  { version: 7, name: 'supply-chain evidence and policies', sql: SUPPLY_CHAIN },
  { version: 8, name: 'identity: organisations, users, memberships, sessions', sql: IDENTITY_SQL },
  { version: 10, name: 'secrets', sql: SECRETS_SQL },
];
