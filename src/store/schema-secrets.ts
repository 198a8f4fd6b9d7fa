/**
 * Secrets, encrypted: a known value sealed under the master key (so a wrong key is refused at start),
 * one data key per project and per organisation wrapped under the master key, and each secret's
 * versions sealed under their data key. Nothing here opens without the master key, which is never in
 * the database.
 */
export const SECRETS_SQL = `
-- One row: proof of which master key this installation's keys are wrapped under.
CREATE TABLE secret_master_key (
  singleton boolean PRIMARY KEY DEFAULT true CONSTRAINT secret_master_key_singleton CHECK (singleton),
  key_id text NOT NULL,
  check_sealed text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  rotated_at timestamptz
);

-- A project's data key (project_id set) or its organisation's (project_id NULL).
CREATE TABLE secret_data_keys (
  id text PRIMARY KEY,
  organisation_id text NOT NULL CONSTRAINT secret_data_keys_organisation_fk REFERENCES organisations (id) ON DELETE CASCADE,
  project_id text CONSTRAINT secret_data_keys_project_fk REFERENCES projects (id) ON DELETE CASCADE,
  wrapped_key text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  rewrapped_at timestamptz
);
CREATE UNIQUE INDEX secret_data_keys_scope_key ON secret_data_keys (organisation_id, COALESCE(project_id, ''));

-- A secret at organisation (no project), project (no environment) or environment level.
CREATE TABLE secrets (
  id text PRIMARY KEY,
  organisation_id text NOT NULL CONSTRAINT secrets_organisation_fk REFERENCES organisations (id) ON DELETE CASCADE,
  project_id text CONSTRAINT secrets_project_fk REFERENCES projects (id) ON DELETE CASCADE,
  environment_id text CONSTRAINT secrets_environment_fk REFERENCES environments (id) ON DELETE CASCADE,
  name text NOT NULL CONSTRAINT secrets_name_check CHECK (name ~ '^[A-Z_][A-Z0-9_]*$' AND length(name) <= 128),
  current_version integer NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  updated_by text,
  CONSTRAINT secrets_scope_check CHECK (environment_id IS NULL OR project_id IS NOT NULL)
);
CREATE UNIQUE INDEX secrets_scope_name_key ON secrets (organisation_id, COALESCE(project_id, ''), COALESCE(environment_id, ''), name);
CREATE INDEX secrets_by_project ON secrets (project_id);

CREATE TABLE secret_versions (
  secret_id text NOT NULL CONSTRAINT secret_versions_secret_fk REFERENCES secrets (id) ON DELETE CASCADE,
  version integer NOT NULL,
  data_key_id text NOT NULL CONSTRAINT secret_versions_data_key_fk REFERENCES secret_data_keys (id),
  -- aes-256-gcm:<nonce>:<tag>:<ciphertext>, bound to the secret's scope, name and version
  value_sealed text NOT NULL,
  created_by text,
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT secret_versions_pkey PRIMARY KEY (secret_id, version)
);
`;
