import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { generateSbom, type Component } from '../../../src/supply-chain/sbom/index.js';

const FIXTURES = fileURLToPath(new URL('./fixtures', import.meta.url));
const NOW = new Date('2024-05-01T10:00:00Z');

const sbomOf = (fixture: string, servicePath = '') => generateSbom({ root: join(FIXTURES, fixture), servicePath, service: { name: 'svc' }, now: NOW });
const summary = (components: Component[]) => components.map((c) => `${c.purl} ${c.scope}${c.direct ? ' direct' : ''}${c.origin === 'registry' ? '' : ` ${c.origin}`}`);

/** The same package.json locked by npm, pnpm 8 and 9, yarn 1 and yarn 4 (real lockfiles those tools wrote). */
const SINGLE = [
  'pkg:npm/%40isaacs/string-locale-compare@1.1.0 required direct',
  'pkg:npm/debug@4.4.3 required direct',
  'pkg:npm/is-number@7.0.0 optional direct',
  'pkg:npm/js-tokens@4.0.0 required',
  'pkg:npm/lodash@4.17.21 required direct',
  'pkg:npm/loose-envify@1.4.0 required',
  // A devDependency that debug also needs at run time.
  'pkg:npm/ms@2.1.3 required direct',
  'pkg:npm/react@18.3.1 required direct',
  'pkg:npm/use-sync-external-store@1.2.0 required direct',
];

/** packages/a of a workspace: its own dependencies and the workspace package it uses, not its siblings' or the root's. */
const MEMBER = [
  'pkg:npm/%40ws/b@0.3.0 required direct workspace',
  'pkg:npm/is-buffer@1.1.6 required',
  'pkg:npm/is-even@1.0.0 required',
  'pkg:npm/is-number@3.0.0 required',
  'pkg:npm/is-odd@0.1.2 required',
  'pkg:npm/kind-of@3.2.2 required',
  'pkg:npm/left-pad@1.3.0 required direct',
];

describe('Node lockfiles', () => {
  for (const fixture of ['npm-single', 'pnpm6-single', 'pnpm9-single', 'yarn1-single', 'yarn-berry-single']) {
    it(`${fixture}: every resolved package once, with scope and directness`, async () => {
      const sbom = await sbomOf(fixture);
      expect(sbom.problems).toEqual([]);
      expect(sbom.complete).toBe(true);
      expect(summary(sbom.components)).toEqual(SINGLE);
    });
  }

  for (const fixture of ['npm-workspace', 'pnpm6-workspace', 'pnpm9-workspace', 'yarn1-workspace', 'yarn-berry-workspace']) {
    it(`${fixture}: a workspace member reads the workspace root's lockfile`, async () => {
      const sbom = await sbomOf(fixture, 'packages/a');
      expect(sbom.problems).toEqual([]);
      expect(summary(sbom.components)).toEqual(MEMBER);
    });
  }

  it('the workspace root itself takes in every workspace package and its own dev tools', async () => {
    for (const fixture of ['npm-workspace', 'pnpm6-workspace', 'pnpm9-workspace', 'yarn1-workspace', 'yarn-berry-workspace']) {
      const sbom = await sbomOf(fixture);
      expect(summary(sbom.components), fixture).toEqual([
        'pkg:npm/%40ws/a@1.2.0 required direct workspace',
        'pkg:npm/%40ws/b@0.3.0 required direct workspace',
        'pkg:npm/is-buffer@1.1.6 required',
        'pkg:npm/is-even@1.0.0 required',
        'pkg:npm/is-number@3.0.0 required',
        'pkg:npm/is-number@6.0.0 excluded',
        'pkg:npm/is-odd@0.1.2 required',
        'pkg:npm/is-odd@3.0.1 excluded direct',
        'pkg:npm/kind-of@3.2.2 required',
        'pkg:npm/left-pad@1.3.0 required',
      ]);
    }
  });

  it('npm: hashes from integrity (base64 to hex), licenses from the v3 `license` field', async () => {
    const sbom = await sbomOf('npm-single');
    const lodash = sbom.document.components.find((c) => c.name === 'lodash')!;
    expect(lodash.hashes).toEqual([
      { alg: 'SHA-512', content: Buffer.from('v2kDEe57lecTulaDIuNTPy3Ry4gLGJ6Z1O3vE1krgXZNrsQ+LFTGHVxVjcXPs17LhbZVGedAJv8XZ1tvj5FvSg==', 'base64').toString('hex') },
    ]);
    expect(lodash.licenses).toEqual([{ license: { id: 'MIT' } }]);
    expect(sbom.components.find((c) => c.name === '@isaacs/string-locale-compare')).toMatchObject({ licenses: ['ISC'], ecosystem: 'npm' });
    // The scope is CycloneDX's group, the name what follows it.
    expect(sbom.document.components.find((c) => c.group === '@isaacs')).toMatchObject({ name: 'string-locale-compare', 'bom-ref': 'pkg:npm/%40isaacs/string-locale-compare@1.1.0' });
  });

  it('the dependency graph: the service depends on its direct packages, each package on what it needs', async () => {
    const sbom = await sbomOf('pnpm9-single');
    const dependsOn = new Map(sbom.document.dependencies.map((d) => [d.ref, d.dependsOn]));
    expect(dependsOn.get('maestro:service/svc')).toEqual(SINGLE.filter((line) => line.includes('direct')).map((line) => line.split(' ')[0]));
    expect(dependsOn.get('pkg:npm/react@18.3.1')).toEqual(['pkg:npm/loose-envify@1.4.0']);
    expect(dependsOn.get('pkg:npm/use-sync-external-store@1.2.0')).toEqual(['pkg:npm/react@18.3.1']);
    expect(dependsOn.get('pkg:npm/lodash@4.17.21')).toEqual([]);
  });

  it("this repository's own package-lock.json: the scope of every package matches npm's own dev and optional flags", async () => {
    const root = fileURLToPath(new URL('../../..', import.meta.url));
    const lock = JSON.parse(await import('node:fs/promises').then((fs) => fs.readFile(join(root, 'package-lock.json'), 'utf8'))) as {
      packages: Record<string, { version?: string; name?: string; dev?: boolean; optional?: boolean; devOptional?: boolean; link?: boolean }>;
    };
    const sbom = await generateSbom({ root, servicePath: '', service: { name: 'maestro' }, now: NOW });
    const byPurl = new Map(sbom.components.map((c) => [c.purl, c]));
    let checked = 0;
    for (const [path, entry] of Object.entries(lock.packages)) {
      if (path === '' || entry.link || !entry.version) continue;
      const name = entry.name ?? path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
      const component = byPurl.get(`pkg:npm/${name.toLowerCase().replace('@', '%40')}@${entry.version}`);
      expect(component, path).toBeDefined();
      // One purl may sit at several paths: the strongest need among them wins.
      const expected = entry.dev ? 'excluded' : entry.optional ? 'optional' : entry.devOptional ? ['excluded', 'optional'] : 'required';
      if (typeof expected === 'string' && expected !== 'required' && component!.scope === 'required') continue;
      if (Array.isArray(expected)) expect(expected).toContain(component!.scope);
      else expect(component!.scope, path).toBe(expected);
      checked += 1;
    }
    expect(checked).toBeGreaterThan(400);
    expect(byPurl.get('pkg:npm/fastify@' + lock.packages['node_modules/fastify']!.version)).toMatchObject({ scope: 'required', direct: true });
    expect(byPurl.get('pkg:npm/vitest@' + lock.packages['node_modules/vitest']!.version)).toMatchObject({ scope: 'excluded', direct: true });
  });
});

describe('Python lockfiles', () => {
  it('poetry.lock with pyproject.toml: direct dependencies, optional extras, dev groups', async () => {
    const sbom = await sbomOf('poetry');
    expect(sbom.problems).toEqual([]);
    expect(summary(sbom.components)).toEqual([
      'pkg:pypi/blinker@1.8.2 required',
      'pkg:pypi/certifi@2024.7.4 optional',
      'pkg:pypi/flask@3.0.3 required direct',
      'pkg:pypi/iniconfig@2.0.0 excluded',
      'pkg:pypi/jinja2@3.1.4 required',
      'pkg:pypi/markupsafe@2.1.5 required',
      'pkg:pypi/pytest@8.3.2 excluded direct',
      'pkg:pypi/requests@2.32.3 optional direct',
      'pkg:pypi/werkzeug@3.0.3 required',
    ]);
    // Each release file keeps its own hash.
    const flask = sbom.document.components.find((c) => c.name === 'flask')!;
    expect(flask.externalReferences?.map((r) => r.url)).toEqual(['flask-3.0.3-py3-none-any.whl', 'flask-3.0.3.tar.gz']);
    expect(flask.externalReferences?.[0]?.hashes?.[0]).toMatchObject({ alg: 'SHA-256', content: expect.stringMatching(/^[0-9a-f]{64}$/) });
  });

  it('uv.lock: the project and a workspace member are located by their editable folder', async () => {
    const root = await sbomOf('uv-workspace');
    expect(summary(root.components)).toEqual([
      'pkg:pypi/annotated-types@0.7.0 required',
      'pkg:pypi/fastapi@0.112.0 required direct',
      'pkg:pypi/pydantic@2.8.2 required',
      'pkg:pypi/pytest@8.3.2 excluded direct',
      'pkg:pypi/pyyaml@6.0.1 optional direct',
      'pkg:pypi/starlette@0.37.2 required',
      'pkg:pypi/urllib3@2.2.2 required',
      'pkg:pypi/worker@0.2.0 required direct workspace',
    ]);
    const member = await sbomOf('uv-workspace', 'packages/worker');
    expect(summary(member.components)).toEqual(['pkg:pypi/urllib3@2.2.2 required direct']);
    expect(member.lockfileDigest).not.toBe(root.lockfileDigest);
  });

  it('requirements files: pins with hashes, pip-compile annotations for directness, dev files excluded, unpinned lines reported', async () => {
    const sbom = await sbomOf('requirements');
    expect(summary(sbom.components)).toEqual([
      'pkg:pypi/blinker@1.8.2 required',
      'pkg:pypi/click@8.1.7 required',
      'pkg:pypi/django@4.2.2 required direct',
      'pkg:pypi/flask@3.0.3 required direct',
      'pkg:pypi/itsdangerous@2.2.0 required',
      'pkg:pypi/jinja2@3.1.4 required',
      'pkg:pypi/markupsafe@2.1.5 required',
      'pkg:pypi/pytest@8.3.2 excluded direct',
      'pkg:pypi/werkzeug@3.0.3 required',
    ]);
    expect(sbom.complete).toBe(false);
    expect(sbom.problems).toEqual([expect.stringMatching(/^requirements-dev\.txt:3: ruff is not pinned \(>=0\.5\): only == pins/)]);
    expect(sbom.document.components.find((c) => c.name === 'blinker')!.hashes).toHaveLength(2);
  });
});

describe('Go modules', () => {
  it("go.mod and go.sum: every required module with its go.sum hash, the module's own path, direct ones marked", async () => {
    const sbom = await sbomOf('go-module');
    expect(sbom.problems).toEqual([]);
    // Every require of go.mod (go 1.18 lists the whole build), none of its excludes.
    expect(sbom.components).toHaveLength(48);
    expect(sbom.components.filter((c) => c.direct).map((c) => c.name)).toEqual([
      'github.com/go-kit/log',
      'github.com/gogo/protobuf',
      'github.com/golang/snappy',
      'github.com/influxdata/influxdb',
      'github.com/prometheus/client_golang',
      'github.com/prometheus/common',
      'github.com/prometheus/prometheus',
      'github.com/stretchr/testify',
      'gopkg.in/alecthomas/kingpin.v2',
    ]);
    expect(sbom.components.find((c) => c.name === 'github.com/docker/distribution')).toMatchObject({ purl: 'pkg:golang/github.com/docker/distribution@v2.8.1%2Bincompatible', ecosystem: 'Go', direct: false });
    const xnet = sbom.document.components.find((c) => c.name === 'golang.org/x/net')!;
    expect(xnet.hashes).toEqual([{ alg: 'SHA-256', content: expect.stringMatching(/^[0-9a-f]{64}$/) }]);
    expect(sbom.document.metadata.properties).toContainEqual({ name: 'maestro:go-module', value: 'github.com/prometheus/prometheus/documentation/examples/remote_storage' });
    // go.sum does not say which module needs which: no dependency entries are claimed for them.
    expect(sbom.document.dependencies.map((d) => d.ref)).toEqual(['maestro:service/svc']);
    expect(sbom.document.compositions[0]!.aggregate).toBe('incomplete');
  });

  it('a package folder inside a module reads the module root; replace directives are followed', async () => {
    const dir = await scratch();
    await cp(join(FIXTURES, 'go-module'), dir, { recursive: true });
    const goMod = (await import('node:fs/promises').then((fs) => fs.readFile(join(dir, 'go.mod'), 'utf8'))) + '\nreplace github.com/golang/snappy => ./third_party/snappy\nreplace gopkg.in/yaml.v3 v3.0.1 => gopkg.in/yaml.v3 v3.0.0\n';
    await writeFile(join(dir, 'go.mod'), goMod);
    await import('node:fs/promises').then((fs) => fs.mkdir(join(dir, 'cmd', 'server'), { recursive: true }));
    await writeFile(join(dir, 'cmd', 'server', 'main.go'), 'package main\n');
    const sbom = await generateSbom({ root: dir, servicePath: 'cmd/server', service: { name: 'server' }, now: NOW });
    expect(sbom.components.find((c) => c.name === 'github.com/golang/snappy')).toMatchObject({ origin: 'local' });
    expect(sbom.components.find((c) => c.name === 'gopkg.in/yaml.v3')).toMatchObject({ version: 'v3.0.0' });
  });
});

const scratchDirs: string[] = [];
async function scratch(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'maestro-sbom-'));
  scratchDirs.push(dir);
  return dir;
}
afterAll(async () => {
  for (const dir of scratchDirs) await rm(dir, { recursive: true, force: true });
});
