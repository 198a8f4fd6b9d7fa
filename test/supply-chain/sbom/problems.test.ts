import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { generateSbom } from '../../../src/supply-chain/sbom/index.js';

const FIXTURES = fileURLToPath(new URL('./fixtures', import.meta.url));
const NOW = new Date('2024-05-01T10:00:00Z');
const dirs: string[] = [];

async function tree(files: Record<string, string>, fixture?: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'maestro-sbom-problems-'));
  dirs.push(dir);
  if (fixture) await cp(join(FIXTURES, fixture), dir, { recursive: true });
  for (const [path, text] of Object.entries(files)) {
    await mkdir(join(dir, path, '..'), { recursive: true });
    await writeFile(join(dir, path), text);
  }
  return dir;
}
const sbom = (root: string, servicePath = '') => generateSbom({ root, servicePath, service: { name: 'web' }, now: NOW });
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describe('what an SBOM cannot cover is said, never thrown', () => {
  it('a lockfile that is not valid JSON: incomplete, with the file and line', async () => {
    const root = await tree({}, 'npm-single');
    const text = await readFile(join(root, 'package-lock.json'), 'utf8');
    const lines = text.split('\n');
    lines[9] = `${lines[9]},,`;
    await writeFile(join(root, 'package-lock.json'), lines.join('\n'));
    const result = await sbom(root);
    expect(result.complete).toBe(false);
    expect(result.components).toEqual([]);
    expect(result.problems).toEqual([expect.stringMatching(/^package-lock\.json:10: is not valid JSON \(.+\); it could not be read$/)]);
    expect(result.document.metadata.properties).toContainEqual({ name: 'maestro:problem', value: result.problems[0] });
    expect(result.document.compositions[0]!.aggregate).toBe('incomplete');
  });

  it('YAML and TOML lockfiles that do not parse name their line too', async () => {
    const pnpm = await tree({ 'pnpm-lock.yaml': "lockfileVersion: '9.0'\nimporters:\n  .:\n    dependencies: [\n" });
    expect((await sbom(pnpm)).problems).toEqual([expect.stringMatching(/^pnpm-lock\.yaml:\d+: is not valid YAML/)]);
    const uv = await tree({ 'pyproject.toml': '[project]\nname = "x"\n', 'uv.lock': 'version = 1\n[[package]]\nname = "x"\nversion = \n' });
    expect((await sbom(uv)).problems).toEqual([expect.stringMatching(/^uv\.lock:4: is not valid TOML/)]);
    const yarn = await tree({ 'package.json': '{"dependencies": {"a": "1"}}', 'yarn.lock': '# yarn lockfile v1\n\na@1:\n  version "1\n' });
    expect((await sbom(yarn)).problems).toEqual([expect.stringMatching(/^yarn\.lock:4: is not a valid yarn lockfile: line 4 has a quoted string that never ends/)]);
  });

  it('a package.json with dependencies and no lockfile, a pyproject.toml with none, a go.mod without go.sum', async () => {
    const node = await tree({ 'package.json': JSON.stringify({ dependencies: { express: '^5' } }) });
    expect((await sbom(node)).problems).toEqual([expect.stringContaining('package.json: declares dependencies but no lockfile pins them')]);
    const python = await tree({ 'pyproject.toml': '[project]\nname = "api"\ndependencies = ["flask>=3"]\n' });
    expect((await sbom(python)).problems).toEqual([expect.stringContaining('pyproject.toml: declares dependencies but no lockfile pins them')]);
    const go = await tree({ 'go.mod': 'module example.com/api\n\ngo 1.22\n\nrequire github.com/gin-gonic/gin v1.9.1\n' });
    const goResult = await sbom(go);
    expect(goResult.problems).toEqual([expect.stringContaining('go.sum: is missing: go.mod requires modules but has no go.sum beside it')]);
    // The pinned version is still known.
    expect(goResult.components.map((c) => c.purl)).toEqual(['pkg:golang/github.com/gin-gonic/gin@v1.9.1']);
  });

  it('a service with no dependencies at all is complete and empty', async () => {
    const root = await tree({ 'package.json': JSON.stringify({ name: 'hello', version: '1.0.0' }), 'server.js': '' });
    const result = await sbom(root);
    expect(result).toMatchObject({ complete: true, problems: [], components: [] });
  });

  it("lockfiles Maestro does not read, and a lockfile above the service that is another project's", async () => {
    const root = await tree({ 'Cargo.lock': '', 'Gemfile.lock': '' });
    expect((await sbom(root)).problems).toEqual([
      'Cargo.lock: is not read (Cargo lockfiles are not supported): the packages it pins are not in the SBOM',
      'Gemfile.lock: is not read (Bundler lockfiles are not supported): the packages it pins are not in the SBOM',
    ]);
    const nested = await tree({ 'tools/package.json': JSON.stringify({ dependencies: { ms: '2.1.3' } }) }, 'npm-single');
    const result = await sbom(nested, 'tools');
    expect(result.components).toEqual([]);
    expect(result.problems).toEqual([expect.stringContaining('tools/package.json: declares dependencies but no lockfile pins them')]);
  });

  it('two Node lockfiles side by side: one is followed, and the doubt is said', async () => {
    const root = await tree({ 'yarn.lock': await readFile(join(FIXTURES, 'yarn1-single', 'yarn.lock'), 'utf8') }, 'npm-single');
    const result = await sbom(root);
    expect(result.components.length).toBeGreaterThan(0);
    expect(result.problems).toEqual([expect.stringContaining('.: has several Node lockfiles (package-lock.json, yarn.lock); the SBOM follows package-lock.json')]);
  });

  it('a service that is not in the workspace its lockfile covers, and a service path that climbs out', async () => {
    const root = await tree({ 'packages/c/package.json': JSON.stringify({ name: '@ws/c', dependencies: { ms: '2.1.3' } }) }, 'npm-workspace');
    const result = await sbom(root, 'packages/c');
    expect(result.complete).toBe(false);
    expect(result.problems).toEqual([expect.stringContaining('package-lock.json: has no entry for "packages/c"; the service is not one of its workspace packages')]);
    const climbing = await sbom(root, '../etc');
    expect(climbing.complete).toBe(false);
    expect(climbing.problems).toEqual([expect.stringContaining('climbs out of the folder')]);
  });

  it('requirements: includes are followed, unpinned and URL requirements reported with their line', async () => {
    const root = await tree({
      'requirements.txt': '-r base.txt\nrequests>=2\nmylib @ https://example.com/mylib.tar.gz\n-e git+https://example.com/x.git#egg=x\n-e .\n',
      'base.txt': 'urllib3==2.2.2 --hash=sha256:' + 'a'.repeat(64) + '\n-r missing.txt\n',
    });
    const result = await sbom(root);
    expect(result.components.map((c) => `${c.purl} ${c.direct}`)).toEqual(['pkg:pypi/urllib3@2.2.2 true']);
    expect(result.problems).toEqual([
      expect.stringMatching(/^requirements\.txt:2: requests is not pinned \(>=2\)/),
      expect.stringMatching(/^requirements\.txt:3: mylib is installed from a URL/),
      expect.stringMatching(/^requirements\.txt:4: installs "git\+https:\/\/example\.com\/x\.git#egg=x" in editable mode/),
      'base.txt:2: includes "missing.txt", which does not exist',
    ]);
  });
});
