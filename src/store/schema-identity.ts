/**
 * Identity: organisations, the people in them (users, their memberships and SSO identities), console
 * sessions, failed logins, and tokens that belong to an organisation, optionally one project, and the
 * person who made them. Existing projects and tokens join the `default` organisation.
 */

/** The organisation every project and token made before organisations belongs to. */
export const DEFAULT_ORGANISATION_ID = 'org_default';

export const IDENTITY_SQL = `
CREATE TABLE organisations (
  id text PRIMARY KEY,
  name text NOT NULL CONSTRAINT organisations_name_key UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO organisations (id, name) VALUES ('${DEFAULT_ORGANISATION_ID}', 'default');

ALTER TABLE projects
  ADD COLUMN organisation_id text NOT NULL DEFAULT '${DEFAULT_ORGANISATION_ID}'
    CONSTRAINT projects_organisation_fk REFERENCES organisations (id),
  -- lets memberships and tokens check that their project belongs to their organisation
  ADD CONSTRAINT projects_organisation_id_key UNIQUE (organisation_id, id);

CREATE TABLE users (
  id text PRIMARY KEY,
  email text NOT NULL CONSTRAINT users_email_check CHECK (email = btrim(email) AND email LIKE '%_@_%'),
  name text NOT NULL DEFAULT '',
  -- scrypt$N$r$p$salt$hash; NULL for people who only sign in through SSO
  password_hash text,
  disabled_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TABLE memberships (
  id text PRIMARY KEY,
  user_id text NOT NULL CONSTRAINT memberships_user_fk REFERENCES users (id) ON DELETE CASCADE,
  organisation_id text NOT NULL CONSTRAINT memberships_organisation_fk REFERENCES organisations (id) ON DELETE CASCADE,
  -- NULL: the role holds across the organisation
  project_id text,
  role text NOT NULL CONSTRAINT memberships_role_check CHECK (role IN ('owner', 'admin', 'developer', 'viewer')),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT memberships_project_fk FOREIGN KEY (organisation_id, project_id)
    REFERENCES projects (organisation_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX memberships_scope_key ON memberships (user_id, organisation_id, COALESCE(project_id, ''));
CREATE INDEX memberships_by_organisation ON memberships (organisation_id, role);

-- Who a person is at an OpenID Connect provider: (issuer, subject) never changes, an email may.
CREATE TABLE user_identities (
  issuer text NOT NULL,
  subject text NOT NULL,
  user_id text NOT NULL CONSTRAINT user_identities_user_fk REFERENCES users (id) ON DELETE CASCADE,
  email text,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_login_at timestamptz,
  CONSTRAINT user_identities_pkey PRIMARY KEY (issuer, subject)
);
CREATE INDEX user_identities_by_user ON user_identities (user_id);

-- Console sessions: only hashes of the cookie's secret and of the CSRF token are kept.
CREATE TABLE sessions (
  id text PRIMARY KEY,
  hash text NOT NULL CONSTRAINT sessions_hash_key UNIQUE,
  user_id text NOT NULL CONSTRAINT sessions_user_fk REFERENCES users (id) ON DELETE CASCADE,
  csrf_hash text NOT NULL,
  method text NOT NULL CONSTRAINT sessions_method_check CHECK (method IN ('password', 'oidc')),
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  last_seen_at timestamptz NOT NULL DEFAULT now(),
  address text,
  user_agent text,
  revoked_at timestamptz
);
CREATE INDEX sessions_by_user ON sessions (user_id);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);

-- Every login attempt, kept a while: throttling counts the failures, and the failures are the record.
CREATE TABLE login_attempts (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  email text NOT NULL,
  address text NOT NULL,
  succeeded boolean NOT NULL,
  reason text,
  at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX login_attempts_by_email ON login_attempts (email, at);
CREATE INDEX login_attempts_by_address ON login_attempts (address, at);

ALTER TABLE tokens
  ADD COLUMN organisation_id text NOT NULL DEFAULT '${DEFAULT_ORGANISATION_ID}'
    CONSTRAINT tokens_organisation_fk REFERENCES organisations (id) ON DELETE CASCADE,
  ADD COLUMN project_id text,
  -- the person who made it: it never does more than they may, and goes with them
  ADD COLUMN user_id text CONSTRAINT tokens_user_fk REFERENCES users (id) ON DELETE CASCADE,
  ADD COLUMN created_by text,
  ADD CONSTRAINT tokens_project_fk FOREIGN KEY (organisation_id, project_id)
    REFERENCES projects (organisation_id, id) ON DELETE CASCADE,
  -- personal: acts as the person who made it, with their roles wherever they hold them. Rows from before
  -- roles meant permissions keep theirs (and hold nothing unless cache-reader).
  ADD CONSTRAINT tokens_role_check CHECK (role IN ('owner', 'admin', 'developer', 'viewer', 'cache-reader', 'personal')) NOT VALID,
  ADD CONSTRAINT tokens_personal_check CHECK (role <> 'personal' OR (user_id IS NOT NULL AND project_id IS NULL));
-- A token's name is unique among the organisation's unrevoked tokens.
DROP INDEX tokens_name_active;
CREATE UNIQUE INDEX tokens_name_active ON tokens (organisation_id, name) WHERE revoked_at IS NULL;
CREATE INDEX tokens_by_user ON tokens (user_id) WHERE user_id IS NOT NULL;
`;
