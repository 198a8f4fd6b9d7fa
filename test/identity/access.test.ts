import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  PERMISSIONS,
  ROLES,
  ROLE_PERMISSIONS,
  decideAccess,
  effectivePermissions,
  missingForRole,
  principalAllows,
  roleAllows,
  type Grant,
  type Principal,
} from '../../src/identity/index.js';

const ORG = 'org_default';
const shop = { organisationId: ORG, projectId: 'prj_shop', projectName: 'shop' };
const blog = { organisationId: ORG, projectId: 'prj_blog', projectName: 'blog' };
const token = (grant: Omit<Grant, 'organisationId'> & { organisationId?: string }, extra: Partial<Principal> = {}): Principal => ({
  kind: 'token',
  name: 'ci',
  organisationId: ORG,
  grants: [{ organisationId: ORG, ...grant }],
  ...extra,
});

const person = (...grants: Grant[]): Principal => ({ kind: 'session', name: 'ada@example.com', organisationId: ORG, grants });

describe('access decisions', () => {
  it('follow the matrix for a role held across the organisation, on every project and on none', () => {
    for (const role of ROLES) {
      for (const permission of PERMISSIONS) {
        const principal = token({ role });
        const expected = ROLE_PERMISSIONS[role].includes(permission);
        expect(principalAllows(principal, permission, shop)).toBe(expected);
        expect(principalAllows(principal, permission, { organisationId: ORG })).toBe(expected);
        expect(principalAllows(principal, permission, { organisationId: ORG, projectName: 'not-yet' })).toBe(expected);
      }
    }
  });

  it('hold a project role on that project only, and never for the organisation or a project that does not exist yet', () => {
    const principal = token({ role: 'owner', projectId: 'prj_shop', projectName: 'shop' });
    expect(principalAllows(principal, 'deploy:production', shop)).toBe(true);
    expect(principalAllows(principal, 'project:view', blog)).toBe(false);
    expect(principalAllows(principal, 'project:view', { organisationId: ORG })).toBe(false);
    expect(principalAllows(principal, 'project:create', { organisationId: ORG, projectName: 'new-one' })).toBe(false);
    expect(principalAllows(principal, 'deploy:preview', { organisationId: ORG, anyProject: true })).toBe(true);
    expect(principalAllows(principal, 'project:view', { organisationId: 'org_other', anyProject: true })).toBe(false);
  });

  it('keep legacy cache-reader tokens to reading projects and the cache, and give unknown roles nothing', () => {
    expect(PERMISSIONS.filter((permission) => roleAllows('cache-reader', permission))).toEqual(['project:view', 'cache:read']);
    expect(PERMISSIONS.filter((permission) => roleAllows('deployer', permission))).toEqual([]);
  });

  it('say which permission is missing, where, and what the credential holds', () => {
    expect(decideAccess(token({ role: 'developer', projectId: 'prj_shop', projectName: 'shop' }), 'deploy:production', shop)).toEqual({
      allowed: false,
      message: 'deploy:production is needed on project shop; token "ci" has role developer on project shop',
    });
    const ada = person({ role: 'viewer', organisationId: ORG }, { role: 'admin', ...blog });
    expect(decideAccess(ada, 'project:create', { organisationId: ORG })).toEqual({
      allowed: false,
      message: 'project:create is needed across the organisation; ada@example.com has role viewer across the organisation and admin on project blog',
    });
    expect(decideAccess(person(), 'org:view', { organisationId: ORG })).toMatchObject({ message: expect.stringContaining('ada@example.com has no role') });
  });

  it("cap a person's token at what the person holds now, and say so", () => {
    const capped = token(
      { role: 'owner' },
      { user: { id: 'usr_1', email: 'ada@example.com', name: '' }, ceiling: [{ role: 'developer', organisationId: ORG }] },
    );
    expect(principalAllows(capped, 'deploy:staging', shop)).toBe(true);
    expect(decideAccess(capped, 'deploy:production', shop)).toEqual({
      allowed: false,
      message: 'deploy:production is needed on project shop; token "ci" has role owner across the organisation, but it was made by ada@example.com, who has role developer across the organisation',
    });
    expect(principalAllows({ ...capped, ceiling: [] }, 'project:view', shop)).toBe(false);
  });

  it('never allow more with a ceiling than without, nor on another project than the grant names', () => {
    const grant = fc.record({
      role: fc.constantFrom(...ROLES, 'cache-reader'),
      organisationId: fc.constantFrom(ORG, 'org_other'),
      projectId: fc.option(fc.constantFrom('prj_shop', 'prj_blog'), { nil: undefined }),
    });
    const target = fc.record({
      organisationId: fc.constantFrom(ORG, 'org_other'),
      projectId: fc.option(fc.constantFrom('prj_shop', 'prj_blog', 'prj_new'), { nil: undefined }),
    });
    fc.assert(
      fc.property(fc.array(grant, { maxLength: 4 }), fc.option(fc.array(grant, { maxLength: 4 }), { nil: undefined }), target, fc.constantFrom(...PERMISSIONS), (grants, ceiling, where, permission) => {
        const clean = (list: typeof grants): Grant[] => list.map((g) => (g.projectId === undefined ? { role: g.role, organisationId: g.organisationId } : { role: g.role, organisationId: g.organisationId, projectId: g.projectId }));
        const free: Principal = { kind: 'token', name: 't', organisationId: ORG, grants: clean(grants) };
        const capped: Principal = { ...free, ...(ceiling ? { ceiling: clean(ceiling) } : {}) };
        const targetClean = where.projectId === undefined ? { organisationId: where.organisationId } : { organisationId: where.organisationId, projectId: where.projectId };
        if (principalAllows(capped, permission, targetClean)) {
          expect(principalAllows(free, permission, targetClean)).toBe(true);
          const via = free.grants.filter((g) => g.organisationId === where.organisationId && (g.projectId === undefined || g.projectId === where.projectId));
          expect(via.some((g) => roleAllows(g.role, permission))).toBe(true);
        }
      }),
    );
  });

  it('refuse to hand out a role with a permission the giver lacks there', () => {
    const developer = token({ role: 'developer' });
    expect(missingForRole(developer, 'developer', shop)).toBeUndefined();
    expect(missingForRole(developer, 'viewer', shop)).toBeUndefined();
    expect(missingForRole(developer, 'admin', shop)).toEqual(['project:delete', 'deploy:production', 'secrets:read', 'policy:waive', 'audit:view']);
    const shopAdmin = token({ role: 'admin', projectId: 'prj_shop', projectName: 'shop' });
    expect(missingForRole(shopAdmin, 'admin', shop)).toBeUndefined();
    expect(missingForRole(shopAdmin, 'viewer', blog)).toEqual(ROLE_PERMISSIONS.viewer);
  });

  it('list effective permissions across the organisation and per project', () => {
    const effective = effectivePermissions(person({ role: 'viewer', organisationId: ORG }, { role: 'developer', ...shop }));
    expect(effective.organisation).toEqual([...ROLE_PERMISSIONS.viewer]);
    expect(effective.projects['shop']).toEqual(PERMISSIONS.filter((p) => ROLE_PERMISSIONS.developer.includes(p)));
  });
});
