/**
 * Who may do what: the permissions every API route declares, and the roles that hold them. One table,
 * read by the API's guard, the git remote, the console and the tests that walk every route with every role.
 */

export const PERMISSIONS = [
  'org:view',
  'org:manage',
  'project:view',
  'project:create',
  'project:delete',
  'deploy:preview',
  'deploy:staging',
  'deploy:production',
  'deploy:rollback',
  'service:manage',
  'service:scale',
  'logs:view',
  'metrics:view',
  'secrets:read',
  'secrets:write',
  'policy:waive',
  'audit:view',
  /** Turborepo and Nx remote cache: reading and writing artifacts. */
  'cache:read',
  'cache:write',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

export const ROLES = ['owner', 'admin', 'developer', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

/** Roles of tokens made before roles meant permissions, and what they now hold. */
export const LEGACY_ROLES = { 'cache-reader': ['project:view', 'cache:read'] } as const satisfies Record<string, readonly Permission[]>;

const VIEW: readonly Permission[] = ['org:view', 'project:view', 'logs:view', 'metrics:view', 'cache:read'];
const DEVELOP: readonly Permission[] = [
  ...VIEW,
  'project:create',
  'deploy:preview',
  'deploy:staging',
  'deploy:rollback',
  'service:manage',
  'service:scale',
  'secrets:write',
  'cache:write',
];
const ADMINISTER: readonly Permission[] = [...DEVELOP, 'project:delete', 'deploy:production', 'secrets:read', 'policy:waive', 'audit:view'];

/**
 * The matrix. An owner holds everything; an admin everything but managing the organisation (members,
 * tokens of others, SSO); a developer ships to previews and staging and rolls back, but does not deploy to
 * production outside the pipeline, waive policies, read secrets back or see the audit trail; a viewer reads.
 */
export const ROLE_PERMISSIONS: Readonly<Record<Role, readonly Permission[]>> = {
  owner: PERMISSIONS,
  admin: ADMINISTER,
  developer: DEVELOP,
  viewer: VIEW,
};

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

export function isPermission(value: string): value is Permission {
  return (PERMISSIONS as readonly string[]).includes(value);
}

/** Whether a role (or a legacy one) holds a permission; an unknown role holds nothing. */
export function roleAllows(role: string, permission: Permission): boolean {
  if (isRole(role)) return ROLE_PERMISSIONS[role].includes(permission);
  const legacy = (LEGACY_ROLES as Record<string, readonly Permission[]>)[role];
  return legacy?.includes(permission) ?? false;
}

/** The permission a deployment to an environment takes: production, a preview, or anything else (staging). */
export function deployPermission(environment: { name: string; kind: 'production' | 'preview' | 'other' }): Permission {
  if (environment.kind === 'production' || environment.name === 'production') return 'deploy:production';
  return environment.kind === 'preview' ? 'deploy:preview' : 'deploy:staging';
}
