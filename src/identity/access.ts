/**
 * Whether someone may do something somewhere: a pure decision over what their credential holds. A role
 * held across the organisation applies to every project in it; one held on a project applies there only.
 */
import { PERMISSIONS, ROLE_PERMISSIONS, roleAllows, type Permission, type Role } from './permissions.js';

/** A role in a scope: across an organisation, or on one project of it. */
export interface Grant {
  role: string;
  organisationId: string;
  projectId?: string;
  projectName?: string;
}

/** Who is asking, as authenticated: a token, or a person signed in to the console. */
export interface Principal {
  kind: 'token' | 'session';
  /** The token's name, or the person's email. */
  name: string;
  organisationId: string;
  /** What the credential holds: a token's one grant, or a person's memberships. */
  grants: Grant[];
  /**
   * A token a person made never does more than they may now: their memberships. Absent for tokens
   * nobody owns (the admin token made at first start, tokens made by other tokens).
   */
  ceiling?: Grant[];
  /** The person behind a session or a personal token. */
  user?: { id: string; email: string; name: string };
  tokenId?: string;
  sessionId?: string;
}

/** What a request is about: the organisation, and the project when it is about one. */
export interface Target {
  organisationId: string;
  /** Undefined for a project that does not exist (yet): only organisation-wide roles reach it. */
  projectId?: string;
  projectName?: string;
  /** A grant on any project of the organisation will do (uploads that belong to no project yet). */
  anyProject?: boolean;
}

export type AccessDecision = { allowed: true } | { allowed: false; message: string };

function reaches(grant: Grant, target: Target): boolean {
  if (grant.organisationId !== target.organisationId) return false;
  if (grant.projectId === undefined || target.anyProject) return true;
  return target.projectId !== undefined && grant.projectId === target.projectId;
}

export function grantsAllow(grants: readonly Grant[], permission: Permission, target: Target): boolean {
  return grants.some((grant) => reaches(grant, target) && roleAllows(grant.role, permission));
}

/** Allowed when the credential holds the permission there, and (for a person's token) so does the person. */
export function principalAllows(principal: Principal, permission: Permission, target: Target): boolean {
  return grantsAllow(principal.grants, permission, target) && (principal.ceiling === undefined || grantsAllow(principal.ceiling, permission, target));
}

export function decideAccess(principal: Principal, permission: Permission, target: Target): AccessDecision {
  if (principalAllows(principal, permission, target)) return { allowed: true };
  const place = target.anyProject ? ' on some project' : target.projectName ? ` on project ${target.projectName}` : ' across the organisation';
  const credential = principal.kind === 'token' ? `token "${principal.name}"` : principal.name;
  let message = `${permission} is needed${place}; ${credential} ${describeGrants(principal.grants)}`;
  if (grantsAllow(principal.grants, permission, target) && principal.ceiling && principal.user) {
    message += `, but it was made by ${principal.user.email}, who ${describeGrants(principal.ceiling)}`;
  }
  return { allowed: false, message };
}

/** "has role developer on project shop", "has role viewer across the organisation and admin on project blog", "has no role". */
export function describeGrants(grants: readonly Grant[]): string {
  if (grants.length === 0) return 'has no role';
  const parts = grants.map((grant) => `${grant.role} ${grant.projectId === undefined ? 'across the organisation' : `on project ${grant.projectName ?? grant.projectId}`}`);
  return `has role ${parts.join(' and ')}`;
}

/** The permissions that hold in a scope, in the matrix's order. */
export function permissionsAt(principal: Principal, target: Target): Permission[] {
  return PERMISSIONS.filter((permission) => principalAllows(principal, permission, target));
}

/**
 * What a principal holds, as a person reads it: across the organisation, and on each project a grant
 * names (those also hold the organisation-wide permissions).
 */
export function effectivePermissions(principal: Principal): { organisation: Permission[]; projects: Record<string, Permission[]> } {
  const organisation = permissionsAt(principal, { organisationId: principal.organisationId });
  const projects: Record<string, Permission[]> = {};
  for (const grant of [...principal.grants, ...(principal.ceiling ?? [])]) {
    if (grant.projectId === undefined || grant.organisationId !== principal.organisationId) continue;
    const name = grant.projectName ?? grant.projectId;
    projects[name] = permissionsAt(principal, { organisationId: principal.organisationId, projectId: grant.projectId, projectName: name });
  }
  return { organisation, projects };
}

/**
 * Nobody may hand out more than they hold: minting a token with `role` in `target`, or giving a person
 * that role there, takes every permission of the role there. Undefined when allowed, else what is missing.
 */
export function missingForRole(principal: Principal, role: Role, target: Target): Permission[] | undefined {
  const missing = ROLE_PERMISSIONS[role].filter((permission) => !principalAllows(principal, permission, target));
  return missing.length === 0 ? undefined : missing;
}

/** The role a listing shows: the organisation-wide one, else the first project one, else none. */
export function primaryRole(grants: readonly Grant[]): string {
  return (grants.find((grant) => grant.projectId === undefined) ?? grants[0])?.role ?? 'none';
}
