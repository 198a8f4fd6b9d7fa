import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { isMaestroError } from '../../src/common/errors.js';
import { detect, renderManifest, renderUnknownManifest } from '../../src/manifest/detect/index.js';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'maestro-detect-'));
});

afterEach(async () => {
  await chmod(dir, 0o755).catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

async function files(tree: Record<string, string>): Promise<void> {
  for (const [name, text] of Object.entries(tree)) {
    await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await writeFile(path.join(dir, name), text);
  }
}

describe('folders with nothing to run', () => {
  it('an empty folder gets a problem and a skeleton to fill in', async () => {
    const detection = await detect(dir);
    expect(detection.services).toEqual([]);
    expect(detection.problems).toEqual(['the folder is empty: there is no app to deploy yet']);
    const text = renderManifest(detection);
    expect(text).toBe(renderUnknownManifest(detection.project, detection.problems.join('\n')));
    expect(parseYaml(text)).toEqual({ project: detection.project, environments: { production: { strategy: 'immediate' } } });
  });

  it('a folder with only a README says what Maestro looked for', async () => {
    await files({ 'README.md': '# My project\n' });
    const detection = await detect(dir);
    expect(detection.services).toEqual([]);
    expect(detection.problems).toHaveLength(1);
    expect(detection.problems[0]).toMatch(/^no app found: Maestro looked for package\.json, .*Dockerfile, index\.html/);
    const text = renderUnknownManifest(detection.project, detection.problems[0]!);
    expect(text).toContain('# Maestro could not tell how to run this folder:');
    expect(text).toContain('#   no app found');
    expect(text).toContain('# services:\n#   web:\n#     path: .');
  });

  it('a garbage package.json is a problem naming the file, not a crash', async () => {
    await files({ 'package.json': '{ "name": "broken", "scripts": { "start": "node x.js" ' });
    const detection = await detect(dir);
    expect(detection.services).toEqual([]);
    expect(detection.problems.some((problem) => /^package\.json is not valid JSON \(/.test(problem))).toBe(true);
    expect(() => parseYaml(renderManifest(detection))).not.toThrow();
  });

  it('a package.json that is not an object is named too', async () => {
    await files({ 'package.json': '["express"]' });
    const detection = await detect(dir);
    expect(detection.problems).toContain('package.json must hold a JSON object ({...}); Maestro could not read it');
  });

  it('a broken package.json does not hide an app another file explains', async () => {
    await files({ 'package.json': 'not json', 'index.html': '<h1>hi</h1>' });
    const detection = await detect(dir);
    expect(detection.services.map((service) => service.framework)).toEqual(['static HTML']);
    expect(detection.problems[0]).toMatch(/^package\.json is not valid JSON/);
  });

  it('a folder where package.json should be is named as the problem', async () => {
    await mkdir(path.join(dir, 'package.json'));
    const detection = await detect(dir);
    expect(detection.services).toEqual([]);
    expect(detection.problems).toContain('package.json is a folder where Maestro expected a file; rename it or remove it');
  });

  it.skipIf(process.getuid?.() === 0)('an unreadable package.json is a problem naming the file', async () => {
    await files({ 'package.json': '{"name":"secret","scripts":{"start":"node s.js"}}' });
    await chmod(path.join(dir, 'package.json'), 0o000);
    const detection = await detect(dir);
    expect(detection.problems.some((problem) => problem.startsWith('package.json could not be read (EACCES)'))).toBe(true);
  });

  it('a library package without a start script says what to add', async () => {
    await files({ 'package.json': JSON.stringify({ name: 'left-pad', version: '1.0.0', devDependencies: { vitest: '^4' } }) });
    const detection = await detect(dir);
    expect(detection.services).toEqual([]);
    expect(detection.problems).toContain(
      'package.json has no "start" script, no "main" file and no framework Maestro knows; add a "start" script that runs your server',
    );
  });

  it('requirements.txt without a framework or entry says so', async () => {
    await files({ 'requirements.txt': 'numpy\n' });
    const detection = await detect(dir);
    expect(detection.problems).toEqual([
      'requirements.txt declares a Python project but no web framework (Django, FastAPI, Flask) or entry script (main.py, app.py) was found',
    ]);
  });

  it('a Dockerfile without CMD asks for one', async () => {
    await files({ Dockerfile: 'FROM node:20\nRUN npm ci\n' });
    const detection = await detect(dir);
    expect(detection.problems).toEqual([
      "Dockerfile has no CMD or ENTRYPOINT in its final stage (it relies on node:20's); add one so Maestro knows what to run",
    ]);
  });

  it('a folder that does not exist is a not_found error, a file a validation error', async () => {
    const missing = path.join(dir, 'nope');
    await expect(detect(missing)).rejects.toSatisfy((error) => isMaestroError(error) && error.code === 'not_found');
    await files({ 'file.txt': 'x' });
    await expect(detect(path.join(dir, 'file.txt'))).rejects.toSatisfy(
      (error) => isMaestroError(error) && error.code === 'validation_error',
    );
  });
});

describe('choosing between signals', () => {
  it('a Rails app with a package.json for its assets is Rails, and says the build needs Node', async () => {
    await files({
      Gemfile: 'gem "rails"\ngem "jsbundling-rails"\n',
      'Gemfile.lock': 'GEM\n',
      'package.json': JSON.stringify({ scripts: { build: 'esbuild app/javascript/*.* --bundle' }, devDependencies: { esbuild: '^0.21' } }),
    });
    const [service] = (await detect(dir)).services;
    expect(service!.framework).toBe('Rails');
    expect(service!.notes.join('\n')).toMatch(/needs Node as well as Ruby/);
  });

  it('a Node app with a Dockerfile builds with Node and says the Dockerfile is not used', async () => {
    await files({
      'package.json': JSON.stringify({ scripts: { start: 'node index.js' }, dependencies: { express: '^4' } }),
      'index.js': 'require("express")().listen(process.env.PORT)',
      Dockerfile: 'FROM node:20\nCMD ["node", "index.js"]\n',
    });
    const [service] = (await detect(dir)).services;
    expect(service!.framework).toBe('Express');
    expect(service!.notes).toContain('Dockerfile is present too; this service builds with the Express toolchain instead of it');
  });

  it('two lockfiles: the packageManager field decides, and the stray lockfile is pointed out', async () => {
    await files({
      'package.json': JSON.stringify({ packageManager: 'npm@10.8.0', scripts: { start: 'node index.js' }, dependencies: { express: '^4' } }),
      'index.js': 'require("express")().listen(process.env.PORT)',
      'package-lock.json': '{}',
      'yarn.lock': '# yarn lockfile v1\n',
    });
    const [service] = (await detect(dir)).services;
    expect(service!.install).toBe('npm ci');
    expect(service!.notes).toContain('yarn.lock also found; remove lockfiles of package managers other than npm');
  });

  it('apps in sub-folders of a folder that is none itself become one service each', async () => {
    await files({
      'frontend/index.html': '<h1>hi</h1>',
      'backend/go.mod': 'module example.com/backend\n',
      'backend/main.go': 'package main\nimport ("net/http"; "os")\nfunc main() { http.ListenAndServe(":"+os.Getenv("PORT"), nil) }\n',
      'docs/index.html': '<h1>docs are not an app</h1>',
    });
    const detection = await detect(dir);
    expect(detection.services.map((service) => [service.name, service.path, service.framework])).toEqual([
      ['backend', 'backend', 'Go net/http'],
      ['frontend', 'frontend', 'static HTML'],
    ]);
  });

  it('a config folder outside the package is ignored, keeping the manifest inside the repository', async () => {
    await files({
      'package.json': JSON.stringify({ scripts: { build: 'vite build' }, devDependencies: { vite: '^5' } }),
      'vite.config.js': "export default { build: { outDir: '../www' } }",
    });
    const [service] = (await detect(dir)).services;
    expect(service!.staticDir).toBe('dist');
  });

  it('two apps pinned to one port are reported, since they cannot run side by side', async () => {
    const app = { scripts: { start: 'node index.js' }, dependencies: { express: '^4' } };
    await files({
      'package.json': JSON.stringify({ workspaces: ['apps/*'] }),
      'apps/a/package.json': JSON.stringify({ name: 'a', ...app }),
      'apps/a/index.js': 'require("express")().listen(3000)',
      'apps/b/package.json': JSON.stringify({ name: 'b', ...app }),
      'apps/b/index.js': 'require("express")().listen(3000)',
    });
    const detection = await detect(dir);
    expect(detection.services.map((service) => service.port)).toEqual([3000, 3000]);
    expect(detection.problems).toContain('services a, b all listen on fixed port 3000; make them read PORT so Maestro can give each its own');
  });
});
