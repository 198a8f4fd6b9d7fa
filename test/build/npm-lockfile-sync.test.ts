import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkNpmLockfile, declaredDependencies, DEPENDENCY_FIELDS, type DependencyField, type NpmLockfileInput } from '../../src/build/npm-lockfile-sync.js';

const json = (value: unknown): string => JSON.stringify(value, null, 2);

/** A workspace as npm 11 wrote its lockfile (v3): the root uses lib, lib uses util. */
const ROOT_PACKAGE = { name: 'mono', version: '1.0.0', private: true, workspaces: ['packages/*'], dependencies: { lib: '^1.0.0' }, optionalDependencies: { util: '^1.0.0' }, devDependencies: {} };
const LIB_PACKAGE = { name: 'lib', version: '1.0.0', dependencies: { util: '^1.0.0' } };
const UTIL_PACKAGE = { name: 'util', version: '1.0.0' };
const LOCK_PACKAGES = {
  '': { name: 'mono', version: '1.0.0', workspaces: ['packages/*'], dependencies: { lib: '^1.0.0' }, devDependencies: {}, optionalDependencies: { util: '^1.0.0' } },
  'node_modules/lib': { resolved: 'packages/lib', link: true },
  'node_modules/util': { resolved: 'packages/util', link: true },
  'packages/lib': { version: '1.0.0', dependencies: { util: '^1.0.0' } },
  'packages/util': { version: '1.0.0' },
};
const V3_LOCKFILE = { name: 'mono', version: '1.0.0', lockfileVersion: 3, requires: true, packages: LOCK_PACKAGES };
/** Version 2 carries the v1 `dependencies` tree beside `packages`, for older npm. */
const V2_LOCKFILE = {
  ...V3_LOCKFILE,
  lockfileVersion: 2,
  dependencies: { lib: { version: 'file:packages/lib', requires: { util: '^1.0.0' } }, util: { version: 'file:packages/util' } },
};

function workspace(edit: { root?: object; lib?: object; lockfile?: object; extra?: Array<{ folder: string; text: string }>; lockfilePath?: string } = {}): NpmLockfileInput {
  return {
    lockfilePath: edit.lockfilePath ?? 'package-lock.json',
    lockfileText: json(edit.lockfile ?? V3_LOCKFILE),
    manifests: [
      { folder: '', text: json(edit.root ?? ROOT_PACKAGE) },
      { folder: 'packages/lib', text: json(edit.lib ?? LIB_PACKAGE) },
      { folder: 'packages/util', text: json(UTIL_PACKAGE) },
      ...(edit.extra ?? []),
    ],
  };
}

const messageOf = (input: NpmLockfileInput): string => {
  const check = checkNpmLockfile(input);
  return check.matches ? '' : check.message;
};

describe('checkNpmLockfile on the lockfiles npm writes', () => {
  it('accepts a v3 and a v2 lockfile that match, with a workspace and an optional dependency', () => {
    expect(checkNpmLockfile(workspace())).toEqual({ matches: true });
    expect(checkNpmLockfile(workspace({ lockfile: V2_LOCKFILE }))).toEqual({ matches: true });
  });

  it('says which dependency package.json has and the lockfile lacks, and what to do', () => {
    const root = { ...ROOT_PACKAGE, dependencies: { ...ROOT_PACKAGE.dependencies, 'left-pad': '^1.3.0' } };
    expect(messageOf(workspace({ root }))).toBe(
      'package-lock.json does not match package.json: "left-pad" (^1.3.0) is in package.json but not in the lockfile; run npm install and commit package-lock.json',
    );
  });

  it('tells a changed range and a dependency moved to another field', () => {
    expect(messageOf(workspace({ root: { ...ROOT_PACKAGE, dependencies: { lib: '^2.0.0' } } }))).toBe(
      'package-lock.json does not match package.json: "lib" is ^2.0.0 in package.json but ^1.0.0 in the lockfile; run npm install and commit package-lock.json',
    );
    expect(messageOf(workspace({ root: { ...ROOT_PACKAGE, dependencies: {}, devDependencies: { lib: '^1.0.0' } } }))).toBe(
      'package-lock.json does not match package.json: "lib" (^1.0.0) is in devDependencies in package.json but in dependencies in the lockfile; run npm install and commit package-lock.json',
    );
  });

  it('checks each workspace package against its own entry, and a new workspace package too', () => {
    expect(messageOf(workspace({ lib: { ...LIB_PACKAGE, dependencies: { util: '^1.0.0', react: '^19.0.0' } } }))).toBe(
      'package-lock.json does not match packages/lib/package.json: "react" (^19.0.0) is in packages/lib/package.json but not in the lockfile; run npm install and commit package-lock.json',
    );
    const extra = [{ folder: 'packages/new', text: json({ name: 'new', version: '1.0.0' }) }];
    expect(messageOf(workspace({ extra }))).toBe(
      'package-lock.json does not match packages/new/package.json: the workspace package packages/new is not in the lockfile; run npm install and commit package-lock.json',
    );
  });

  it('keeps a name listed in both dependencies and optionalDependencies as optional, as npm writes it', () => {
    const root = { ...ROOT_PACKAGE, dependencies: { lib: '^1.0.0', util: '^1.0.0' } };
    expect(checkNpmLockfile(workspace({ root }))).toEqual({ matches: true });
  });

  it('names the files by their place in the source when the lockfile is in a subfolder', () => {
    const input: NpmLockfileInput = {
      lockfilePath: 'apps/web/package-lock.json',
      lockfileText: json({ lockfileVersion: 3, packages: { '': { name: 'web' } } }),
      manifests: [{ folder: '', text: json({ name: 'web', devDependencies: { vitest: '^4.0.0' } }) }],
    };
    expect(messageOf(input)).toBe(
      'apps/web/package-lock.json does not match apps/web/package.json: "vitest" (^4.0.0) is in apps/web/package.json but not in the lockfile; run npm install in apps/web and commit apps/web/package-lock.json',
    );
  });

  it('spells out three mismatches and counts the rest', () => {
    const root = { ...ROOT_PACKAGE, dependencies: { lib: '^1.0.0', a: '1', b: '1', c: '1', d: '1' } };
    const message = messageOf(workspace({ root }));
    expect(message).toContain('"a" (1) is in package.json but not in the lockfile; "b" (1) is in package.json but not in the lockfile; "c" (1)');
    expect(message).toContain('(and 1 more); run npm install');
  });

  it('does not compare a version 1 lockfile, which holds no ranges', () => {
    const v1 = { name: 'mono', lockfileVersion: 1, requires: true, dependencies: { lib: { version: 'file:packages/lib' } } };
    expect(checkNpmLockfile(workspace({ lockfile: v1, root: { ...ROOT_PACKAGE, dependencies: { other: '1' } } }))).toEqual({ matches: true });
  });

  it('reports a lockfile or package.json that is not JSON (a merge conflict left in it)', () => {
    const conflicted = { ...workspace(), lockfileText: '<<<<<<< HEAD\n{}\n=======\n{}\n>>>>>>> main\n' };
    expect(messageOf(conflicted)).toMatch(/^package-lock\.json is not valid JSON \(.+\); fix it \(a merge conflict left in it\?\), then run npm install and commit package-lock\.json$/);
    const broken = workspace({ extra: [] });
    broken.manifests = [{ folder: '', text: '{ "name": ' }];
    expect(messageOf(broken)).toMatch(/^package\.json is not valid JSON/);
  });

  it('keeps control characters out of the message', () => {
    const root = { ...ROOT_PACKAGE, dependencies: { lib: '^1.0.0', 'evil\u001b[31m': '1\n2' } };
    expect(messageOf(workspace({ root }))).toContain('"evil\\u001b[31m" (1\\x0a2) is in package.json');
  });
});

const name = fc.stringMatching(/^(@[a-z0-9-]{1,6}\/)?[a-z0-9][a-z0-9._-]{0,10}$/);
const range = fc.oneof(
  fc.stringMatching(/^[~^]?\d{1,2}\.\d{1,2}\.\d{1,2}$/),
  fc.constantFrom('*', 'latest', 'file:../lib', 'workspace:*', 'github:user/repo#main'),
);
const fieldDeps = fc.dictionary(name, range, { maxKeys: 5 });
const packageJson = fc.record({ dependencies: fieldDeps, devDependencies: fieldDeps, optionalDependencies: fieldDeps });

/** The root entry npm would write for this package.json. */
function lockEntryFor(pkg: Record<DependencyField, Record<string, string>>): Record<string, unknown> {
  const declared = declaredDependencies(pkg);
  const entry: Record<string, unknown> = { name: 'app' };
  for (const field of DEPENDENCY_FIELDS) if (declared[field].size > 0) entry[field] = Object.fromEntries(declared[field]);
  return entry;
}

function input(pkg: object, entry: object, extraPackages: Record<string, unknown> = {}): NpmLockfileInput {
  return {
    lockfilePath: 'package-lock.json',
    lockfileText: JSON.stringify({ lockfileVersion: 3, packages: { ...extraPackages, '': entry } }),
    manifests: [{ folder: '', text: JSON.stringify(pkg) }],
  };
}

/** The dependencies npm keeps, as [field, name, range]. */
function declaredList(pkg: Record<DependencyField, Record<string, string>>): Array<[DependencyField, string, string]> {
  const declared = declaredDependencies(pkg);
  return DEPENDENCY_FIELDS.flatMap((field) => [...declared[field]].map(([dep, spec]): [DependencyField, string, string] => [field, dep, spec]));
}

describe('checkNpmLockfile, for any package.json', () => {
  it('accepts the lockfile npm would write, whatever else it lists', () => {
    const others = fc.dictionary(name.map((dep) => `node_modules/${dep}`), fc.record({ version: fc.constant('1.0.0') }), { maxKeys: 4 });
    fc.assert(
      fc.property(packageJson, others, (pkg, extra) => {
        expect(checkNpmLockfile(input(pkg, lockEntryFor(pkg), extra))).toEqual({ matches: true });
      }),
    );
  });

  it('names a dependency the lockfile lacks', () => {
    const withOne = packageJson.filter((pkg) => declaredList(pkg).length > 0).chain((pkg) => fc.tuple(fc.constant(pkg), fc.constantFrom(...declaredList(pkg))));
    fc.assert(
      fc.property(withOne, (pair) => {
        const [pkg, [field, dep, spec]] = pair;
        const entry = lockEntryFor(pkg);
        const fieldEntry = { ...(entry[field] as Record<string, string>) };
        delete fieldEntry[dep];
        const check = checkNpmLockfile(input(pkg, { ...entry, [field]: fieldEntry }));
        expect(check.matches).toBe(false);
        if (check.matches) return;
        expect(check.mismatches).toEqual([{ kind: 'missing', folder: '', name: dep, field, range: spec }]);
        expect(check.message).toContain(`${JSON.stringify(dep)} (${spec}) is in package.json but not in the lockfile`);
      }),
    );
  });

  it('names a dependency whose range differs', () => {
    const withOne = packageJson.filter((pkg) => declaredList(pkg).length > 0).chain((pkg) => fc.tuple(fc.constant(pkg), fc.constantFrom(...declaredList(pkg)), range));
    fc.assert(
      fc.property(withOne, ([pkg, [field, dep, spec], other]) => {
        fc.pre(other !== spec);
        const entry = lockEntryFor(pkg);
        const check = checkNpmLockfile(input(pkg, { ...entry, [field]: { ...(entry[field] as Record<string, string>), [dep]: other } }));
        expect(check).toMatchObject({ matches: false, mismatches: [{ kind: 'range', name: dep, field, range: spec, locked: other }] });
      }),
    );
  });

  it('never throws, whatever the files hold', () => {
    const text = fc.oneof(fc.string(), fc.json(), packageJson.map((pkg) => JSON.stringify(pkg)));
    fc.assert(
      fc.property(text, text, (lockfileText, manifest) => {
        const check = checkNpmLockfile({ lockfilePath: 'package-lock.json', lockfileText, manifests: [{ folder: '', text: manifest }] });
        expect(typeof check.matches).toBe('boolean');
      }),
    );
  });
});
