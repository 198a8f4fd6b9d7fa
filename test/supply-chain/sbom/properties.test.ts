import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { stringify as toToml } from 'smol-toml';
import { describe, expect, it } from 'vitest';
import { stringify as toYaml } from 'yaml';
import {
  placePackages,
  readGoModules,
  readNpmLockfile,
  readPnpmLockfile,
  readPoetryLock,
  readRequirements,
  readUvLock,
  readYarnLockfile,
  type LockfileGraph,
} from '../../../src/supply-chain/sbom/index.js';
import { integrityHashes } from '../../../src/supply-chain/sbom/hashes.js';
import { npmPurl, pep503Name, pypiPurl, golangPurl } from '../../../src/supply-chain/sbom/purl.js';
import { parseYarnV1, printYarnV1, type YarnV1Block } from '../../../src/supply-chain/sbom/readers/yarn-v1-syntax.js';
import { spdxExpression } from '../../../src/supply-chain/sbom/licenses.js';

const FIXTURES = fileURLToPath(new URL('./fixtures', import.meta.url));

type Kind = 'required' | 'optional' | 'dev';
interface World {
  names: string[];
  versions: string[];
  hashes: Buffer[];
  /** edges[i] = indexes i depends on (required or optional). */
  edges: Array<Array<{ to: number; optional: boolean }>>;
  roots: Array<{ to: number; kind: Kind }>;
}

const nameArb = fc.oneof(
  fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/),
  fc.tuple(fc.stringMatching(/^[a-z][a-z0-9-]{0,5}$/), fc.stringMatching(/^[a-z][a-z0-9-]{0,6}$/)).map(([scope, name]) => `@${scope}/${name}`),
);
const versionArb = fc.tuple(fc.nat(20), fc.nat(20), fc.nat(20)).map((parts) => parts.join('.'));

/** A random set of packages, each at one version, depending on each other, and the service's own choices. */
const worldArb: fc.Arbitrary<World> = fc
  .uniqueArray(nameArb, { minLength: 1, maxLength: 12 })
  .chain((names) =>
    fc.record({
      names: fc.constant(names),
      versions: fc.array(versionArb, { minLength: names.length, maxLength: names.length }),
      hashes: fc.array(fc.uint8Array({ minLength: 64, maxLength: 64 }).map((bytes) => Buffer.from(bytes)), { minLength: names.length, maxLength: names.length }),
      edges: fc.array(fc.uniqueArray(fc.record({ to: fc.nat(names.length - 1), optional: fc.boolean() }), { maxLength: 4, selector: (edge) => edge.to }), {
        minLength: names.length,
        maxLength: names.length,
      }),
      roots: fc.uniqueArray(fc.record({ to: fc.nat(names.length - 1), kind: fc.constantFrom<Kind>('required', 'optional', 'dev') }), { maxLength: names.length, selector: (root) => root.to }),
    }),
  );

/** What each package's scope must be, by plain reachability (independent of the reader's own walk). */
function expectedScopes(world: World): Map<string, string> {
  const reach = (rootKinds: Kind[], followOptional: boolean): Set<number> => {
    const seen = new Set<number>();
    const pending = world.roots.filter((root) => rootKinds.includes(root.kind)).map((root) => root.to);
    while (pending.length > 0) {
      const index = pending.pop()!;
      if (seen.has(index)) continue;
      seen.add(index);
      for (const edge of world.edges[index]!) if (followOptional || !edge.optional) pending.push(edge.to);
    }
    return seen;
  };
  const required = reach(['required'], false);
  const optional = reach(['required', 'optional'], true);
  const any = reach(['required', 'optional', 'dev'], true);
  const out = new Map<string, string>();
  world.names.forEach((name, index) => {
    if (any.has(index)) out.set(`${name}@${world.versions[index]}`, required.has(index) ? 'required' : optional.has(index) ? 'optional' : 'excluded');
  });
  return out;
}

const placed = (graph: LockfileGraph): Map<string, string> => new Map(placePackages(graph).map(({ pkg, scope }) => [`${pkg.name}@${pkg.version}`, scope]));
const depsOf = (world: World, index: number, optional: boolean) =>
  Object.fromEntries(world.edges[index]!.filter((edge) => edge.optional === optional).map((edge) => [world.names[edge.to]!, world.versions[edge.to]!]));
const rootDeps = (world: World, kind: Kind) => Object.fromEntries(world.roots.filter((root) => root.kind === kind).map((root) => [world.names[root.to]!, world.versions[root.to]!]));
const integrity = (bytes: Buffer) => `sha512-${bytes.toString('base64')}`;

describe('lockfile readers (properties)', () => {
  it('npm: every package reachable from the service, once, with the scope reachability gives and its integrity as hex', () => {
    fc.assert(
      fc.property(worldArb, (world) => {
        const packages: Record<string, unknown> = {
          '': { name: 'svc', version: '1.0.0', dependencies: rootDeps(world, 'required'), optionalDependencies: rootDeps(world, 'optional'), devDependencies: rootDeps(world, 'dev') },
        };
        world.names.forEach((name, index) => {
          packages[`node_modules/${name}`] = {
            version: world.versions[index],
            integrity: integrity(world.hashes[index]!),
            license: 'MIT',
            dependencies: depsOf(world, index, false),
            optionalDependencies: depsOf(world, index, true),
          };
        });
        const graph = readNpmLockfile(JSON.stringify({ name: 'svc', lockfileVersion: 3, packages }, null, 2), { file: 'package-lock.json', importer: '' });
        expect(graph.problems).toEqual([]);
        expect(placed(graph)).toEqual(expectedScopes(world));
        for (const { pkg } of placePackages(graph)) {
          const index = world.names.indexOf(pkg.name);
          expect(pkg.hashes).toEqual([{ alg: 'SHA-512', content: world.hashes[index]!.toString('hex') }]);
        }
      }),
    );
  });

  it('pnpm 9: the same graph written as importers, packages and snapshots reads back the same', () => {
    fc.assert(
      fc.property(worldArb, (world) => {
        const key = (index: number) => `${world.names[index]}@${world.versions[index]}`;
        const importer: Record<string, unknown> = {};
        for (const [group, kind] of [['dependencies', 'required'], ['optionalDependencies', 'optional'], ['devDependencies', 'dev']] as const) {
          const deps = Object.fromEntries(world.roots.filter((root) => root.kind === kind).map((root) => [world.names[root.to]!, { specifier: `^${world.versions[root.to]}`, version: world.versions[root.to] }]));
          if (Object.keys(deps).length > 0) importer[group] = deps;
        }
        const lock = {
          lockfileVersion: '9.0',
          importers: { '.': importer },
          packages: Object.fromEntries(world.names.map((_, index) => [key(index), { resolution: { integrity: integrity(world.hashes[index]!) } }])),
          snapshots: Object.fromEntries(world.names.map((_, index) => [key(index), { dependencies: depsOf(world, index, false), optionalDependencies: depsOf(world, index, true) }])),
        };
        const graph = readPnpmLockfile(toYaml(lock), { file: 'pnpm-lock.yaml', importer: '' });
        expect(graph.problems).toEqual([]);
        expect(placed(graph)).toEqual(expectedScopes(world));
      }),
    );
  });

  it('yarn 1: printed entries parse back to the same blocks, and resolve from package.json the same', () => {
    fc.assert(
      fc.property(worldArb, (world) => {
        const entries = world.names.map((name, index) => {
          const fields: YarnV1Block = { version: world.versions[index]!, resolved: `https://registry.yarnpkg.com/${name}/-/${name.split('/').pop()}-${world.versions[index]}.tgz`, integrity: integrity(world.hashes[index]!) };
          const deps = depsOf(world, index, false);
          const optional = depsOf(world, index, true);
          if (Object.keys(deps).length > 0) fields.dependencies = deps;
          if (Object.keys(optional).length > 0) fields.optionalDependencies = optional;
          return { keys: [`${name}@${world.versions[index]}`, `${name}@^${world.versions[index]}`], fields };
        });
        const text = printYarnV1(entries);
        const parsed = parseYarnV1(text);
        expect(parsed.ok).toBe(true);
        if (parsed.ok) for (const entry of entries) for (const key of entry.keys) expect(parsed.value[key]).toEqual(entry.fields);
        const manifest = {
          dependencies: world.roots.map((root) => ({ name: world.names[root.to]!, range: `^${world.versions[root.to]}`, kind: root.kind })),
          workspaces: [],
        };
        const graph = readYarnLockfile(text, { file: 'yarn.lock', importer: '', manifests: { '': manifest } });
        expect(graph.problems).toEqual([]);
        expect(placed(graph)).toEqual(expectedScopes(world));
      }),
    );
  });

  it('uv: the same graph as uv.lock reads back the same, the project itself left out', () => {
    fc.assert(
      fc.property(worldArb, (world) => {
        // PyPI names for the same packages.
        const named: World = { ...world, names: world.names.map((_, index) => `pkg-${index}`) };
        const edges = (list: Array<{ to: number }>) => list.map((edge) => ({ name: named.names[edge.to]! }));
        const project = {
          name: 'svc-project',
          version: '0.1.0',
          source: { editable: '.' },
          dependencies: edges(world.roots.filter((root) => root.kind === 'required')),
          'optional-dependencies': { extra: edges(world.roots.filter((root) => root.kind === 'optional')) },
          'dev-dependencies': { dev: edges(world.roots.filter((root) => root.kind === 'dev')) },
        };
        const packages = named.names.map((name, index) => ({
          name,
          version: world.versions[index]!,
          source: { registry: 'https://pypi.org/simple' },
          dependencies: edges(world.edges[index]!.filter((edge) => !edge.optional)),
          'optional-dependencies': { extra: edges(world.edges[index]!.filter((edge) => edge.optional)) },
          wheels: [{ url: `https://files.example/${name}.whl`, hash: `sha256:${world.hashes[index]!.toString('hex').slice(0, 64)}` }],
        }));
        const graph = readUvLock(toToml({ version: 1, package: [project, ...packages] }), { file: 'uv.lock', importer: '' });
        expect(graph.problems).toEqual([]);
        expect(placed(graph)).toEqual(expectedScopes(named));
        for (const { pkg } of placePackages(graph)) expect(pkg.distributions[0]!.hashes[0]!.content).toHaveLength(64);
      }),
    );
  });

  it('requirements: pinned lines read back with their hashes whatever the spacing, continuation lines and comments', () => {
    const line = fc.record({
      name: fc.stringMatching(/^[A-Za-z][A-Za-z0-9._-]{0,10}[A-Za-z0-9]$/),
      version: versionArb,
      hashes: fc.uniqueArray(fc.uint8Array({ minLength: 32, maxLength: 32 }).map((bytes) => Buffer.from(bytes).toString('hex')), { maxLength: 3 }),
      extras: fc.boolean(),
      marker: fc.boolean(),
      spaces: fc.constantFrom('', ' ', '  '),
      comment: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.uniqueArray(line, { maxLength: 8, selector: (l) => pep503Name(l.name) }), (lines) => {
        const text = lines
          .map((l) => {
            const head = `${l.name}${l.extras ? '[security]' : ''}${l.spaces}==${l.spaces}${l.version}${l.marker ? ' ; python_version >= "3.8"' : ''}`;
            return [head, ...l.hashes.map((hash) => `    --hash=sha256:${hash}`)].join(' \\\n') + (l.comment ? '  # pinned' : '');
          })
          .join('\n');
        const graph = readRequirements(`# generated\n${text}\n`, { file: 'requirements.txt', scope: 'required' });
        expect(graph.problems).toEqual([]);
        expect(graph.packages.map((pkg) => [pkg.name, pkg.version, pkg.hashes.map((hash) => hash.content)])).toEqual(lines.map((l) => [l.name, l.version, l.hashes]));
        expect(graph.packages.map((pkg) => pkg.purl)).toEqual(lines.map((l) => pypiPurl(l.name, l.version)));
      }),
    );
  });

  it('go: go.mod requirements and go.sum hashes read back, direct ones at the root', () => {
    const module = fc.record({
      path: fc.tuple(fc.constantFrom('github.com', 'golang.org/x', 'gopkg.in'), fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/)).map(([host, name]) => `${host}/${name}`),
      version: fc.tuple(fc.nat(9), fc.nat(20), fc.nat(20)).map(([a, b, c]) => `v${a}.${b}.${c}`),
      indirect: fc.boolean(),
      hash: fc.uint8Array({ minLength: 32, maxLength: 32 }).map((bytes) => Buffer.from(bytes)),
    });
    fc.assert(
      fc.property(fc.uniqueArray(module, { maxLength: 10, selector: (m) => m.path }), (modules) => {
        const goMod = `module example.com/svc\n\ngo 1.22\n\nrequire (\n${modules.map((m) => `\t${m.path} ${m.version}${m.indirect ? ' // indirect' : ''}`).join('\n')}\n)\n`;
        const goSum = modules.flatMap((m) => [`${m.path} ${m.version} h1:${m.hash.toString('base64')}`, `${m.path} ${m.version}/go.mod h1:${Buffer.alloc(32, 7).toString('base64')}`]).join('\n');
        const graph = readGoModules(goMod, goSum, { goModFile: 'go.mod', goSumFile: 'go.sum' });
        expect(graph.problems).toEqual([]);
        const byName = new Map(placePackages(graph).map((p) => [p.pkg.name, p]));
        expect(byName.size).toBe(modules.length);
        for (const m of modules) {
          const found = byName.get(m.path)!;
          expect(found.pkg.version).toBe(m.version);
          expect(found.direct).toBe(!m.indirect);
          expect(found.pkg.hashes).toEqual([{ alg: 'SHA-256', content: m.hash.toString('hex') }]);
          expect(found.pkg.purl).toBe(golangPurl(m.path, m.version));
        }
      }),
    );
  });

  it('SRI integrity: base64 digests become the same bytes in hex; wrong lengths and unknown algorithms are skipped', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 20, maxLength: 20 }), fc.uint8Array({ minLength: 64, maxLength: 64 }), (sha1, sha512) => {
        const hashes = integrityHashes(`sha512-${Buffer.from(sha512).toString('base64')} sha1-${Buffer.from(sha1).toString('base64')} md5-AAAA sha256-AAAA`);
        expect(hashes).toEqual([
          { alg: 'SHA-512', content: Buffer.from(sha512).toString('hex') },
          { alg: 'SHA-1', content: Buffer.from(sha1).toString('hex') },
        ]);
      }),
    );
  });

  it('purls: names are lowercased and percent-encoded, and decode back; PEP 503 names are normalised once and for all', () => {
    fc.assert(
      fc.property(nameArb, versionArb, (name, version) => {
        const purl = npmPurl(name, version);
        const path = purl.slice('pkg:npm/'.length, purl.lastIndexOf('@'));
        expect(path.split('/').map(decodeURIComponent).join('/')).toBe(name.toLowerCase());
        expect(purl.endsWith(`@${version}`)).toBe(true);
      }),
    );
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,15}$/), (name) => {
        const normal = pep503Name(name);
        expect(pep503Name(normal)).toBe(normal);
        expect(normal).toMatch(/^[a-z0-9-]*$/);
        expect(pypiPurl(name, '1.0')).toBe(pypiPurl(normal, '1.0'));
      }),
    );
    expect(npmPurl('@Types/Node', '20.1.0')).toBe('pkg:npm/%40types/node@20.1.0');
    expect(pypiPurl('Zope.Interface_x', '6.0')).toBe('pkg:pypi/zope-interface-x@6.0');
    expect(golangPurl('github.com/Azure/go-autorest', 'v14.2.0+incompatible')).toBe('pkg:golang/github.com/azure/go-autorest@v14.2.0%2Bincompatible');
  });

  it('SPDX expressions: valid ones come back canonical, anything else is refused', () => {
    expect(spdxExpression('mit or apache-2.0')).toBe('MIT OR Apache-2.0');
    expect(spdxExpression('(MIT AND (BSD-3-Clause OR GPL-2.0-or-later WITH Classpath-exception-2.0))')).toBe('MIT AND (BSD-3-Clause OR GPL-2.0-or-later WITH Classpath-exception-2.0)');
    expect(spdxExpression('LicenseRef-Custom')).toBe('LicenseRef-Custom');
    for (const bad of ['SEE LICENSE IN LICENSE', 'MIT OR', '(MIT', 'MIT AND OR ISC', 'Nonsense-1.0', '']) expect(spdxExpression(bad), bad).toBeUndefined();
  });
});

const READERS: Array<[string, string, (text: string) => LockfileGraph]> = [
  ['npm', 'npm-single/package-lock.json', (text) => readNpmLockfile(text, { file: 'package-lock.json', importer: '' })],
  ['pnpm', 'pnpm9-workspace/pnpm-lock.yaml', (text) => readPnpmLockfile(text, { file: 'pnpm-lock.yaml', importer: 'packages/a' })],
  ['yarn 1', 'yarn1-single/yarn.lock', (text) => readYarnLockfile(text, { file: 'yarn.lock', importer: '', manifests: { '': { dependencies: [{ name: 'debug', range: '^4.3.4', kind: 'required' }], workspaces: [] } } })],
  ['yarn berry', 'yarn-berry-single/yarn.lock', (text) => readYarnLockfile(text, { file: 'yarn.lock', importer: '', manifests: {} })],
  ['requirements', 'requirements/requirements.txt', (text) => readRequirements(text, { file: 'requirements.txt', scope: 'required' })],
  ['poetry', 'poetry/poetry.lock', (text) => readPoetryLock(text, { file: 'poetry.lock' })],
  ['uv', 'uv-workspace/uv.lock', (text) => readUvLock(text, { file: 'uv.lock', importer: '' })],
  ['go', 'go-module/go.sum', (text) => readGoModules(text, text, { goModFile: 'go.mod', goSumFile: 'go.sum' })],
];

describe('lockfile readers never throw', () => {
  for (const [label, fixture, read] of READERS) {
    it(`${label}: damaged text gives problems (with a line inside the file), never an exception`, () => {
      const original = readFileSync(join(FIXTURES, fixture), 'utf8');
      const damaged = fc.oneof(
        fc.string(),
        fc.tuple(fc.nat(original.length), fc.nat(original.length)).map(([a, b]) => original.slice(0, Math.min(a, b)) + original.slice(Math.max(a, b))),
        fc.tuple(fc.nat(original.length), fc.constantFrom('"', '{', '[', ':', '\n  ', '\t', '=', '(', '\\')).map(([at, char]) => original.slice(0, at) + char + original.slice(at)),
      );
      fc.assert(
        fc.property(damaged, (text) => {
          const graph = read(text);
          expect(Array.isArray(graph.packages)).toBe(true);
          const lines = text.split('\n').length;
          for (const problem of graph.problems) {
            expect(problem.message).not.toBe('');
            if (problem.line !== undefined) {
              expect(problem.line).toBeGreaterThanOrEqual(1);
              expect(problem.line).toBeLessThanOrEqual(lines + 1);
            }
          }
          placePackages(graph);
        }),
        { numRuns: 150 },
      );
    });
  }
});
