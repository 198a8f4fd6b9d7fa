import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { detect, detectTree, memoryTree, renderManifest, type Detection } from '../../src/manifest/detect/index.js';
import { isDnsName, parseManifest } from '../../src/manifest/index.js';

/** File names of every ecosystem, none of them a folder of another, so any subset is a valid tree. */
const NAMES = [
  'package.json',
  'package-lock.json',
  'pnpm-lock.yaml',
  'yarn.lock',
  'pnpm-workspace.yaml',
  'turbo.json',
  'nx.json',
  'server.js',
  'index.js',
  'next.config.js',
  'vite.config.js',
  'angular.json',
  'svelte.config.js',
  'apps/web/package.json',
  'apps/web/server.js',
  'apps/api/package.json',
  'apps/api/project.json',
  'apps/api/main.py',
  'packages/ui/package.json',
  'requirements.txt',
  'pyproject.toml',
  'uv.lock',
  'manage.py',
  'main.py',
  'app/main.py',
  'go.mod',
  'main.go',
  'cmd/tool/main.go',
  'Gemfile',
  'config.ru',
  'config/application.rb',
  'Dockerfile',
  'index.html',
  'public/index.html',
  'deno.json',
  'main.ts',
  'Cargo.toml',
  'src/main.rs',
  'composer.json',
  'pom.xml',
  'build.gradle',
  'App.csproj',
  'mix.exs',
  'gleam.toml',
  'hugo.toml',
  '_config.yml',
  'mkdocs.yml',
];

const dependencyNames = fc.constantFrom(
  'next', 'nuxt', 'astro', '@astrojs/node', '@sveltejs/kit', '@sveltejs/adapter-node', 'vite', 'react', 'express',
  'fastify', 'koa', '@nestjs/core', 'elysia', '@remix-run/node', 'gatsby', 'web', 'api', '@acme/ui',
);

const packageJson = fc
  .record(
    {
      name: fc.oneof(fc.constantFrom('web', 'api', '@acme/ui', 'Root App', ''), fc.string()),
      main: fc.constantFrom('server.js', 'index.js', 'dist/x.js', '../escape.js'),
      packageManager: fc.constantFrom('pnpm@9.1.0', 'yarn@4.1.0', 'yarn@1.22.0', 'npm@10', 'bun@1.1', 'nonsense'),
      scripts: fc.dictionary(fc.constantFrom('start', 'build', 'dev', 'generate'), fc.constantFrom('node server.js', 'next build', 'nuxt generate', 'nodemon x', 'bun run a.ts', '')),
      dependencies: fc.dictionary(dependencyNames, fc.constantFrom('^1.0.0', 'workspace:*', '*')),
      devDependencies: fc.dictionary(dependencyNames, fc.constant('^1.0.0')),
      workspaces: fc.oneof(fc.constant(['apps/*', 'packages/*']), fc.constant({ packages: ['apps/**'] }), fc.constant('apps/*'), fc.constant(['!apps/web', '../x'])),
      engines: fc.dictionary(fc.constantFrom('node', 'pnpm', 'yarn', 'bun'), fc.constant('>=1')),
    },
    { requiredKeys: [] },
  )
  .map((value) => JSON.stringify(value));

/** Contents that mean something for a given file name, so generated trees reach deep into detection. */
const MEANINGFUL: Record<string, string[]> = {
  'pnpm-workspace.yaml': ['packages:\n  - "apps/*"\n  - "packages/*"\n', 'packages: [unclosed', 'packages: 3\n'],
  'turbo.json': ['{"tasks":{}}'],
  'nx.json': ['{}'],
  'yarn.lock': ['# yarn lockfile v1\n', '__metadata:\n  version: 8\n'],
  'next.config.js': ["module.exports = { output: 'export' }", 'module.exports = {}'],
  'vite.config.js': ["export default { build: { outDir: '../../out', lib: {} } }", "export default { build: { outDir: 'www' } }"],
  'svelte.config.js': ["import a from '@sveltejs/adapter-node'; export default { kit: { adapter: a({ out: '/x' }) } }"],
  'angular.json': [
    '{"projects":{"a":{"architect":{"build":{"builder":"x:browser","options":{"outputPath":"/abs"}}}}}}',
    '{"projects":{"shop":{"architect":{"build":{"builder":"x:application","options":{"outputPath":{"base":"dist/shop"}}}}}}}',
  ],
  'apps/api/project.json': [
    '{"projectType":"application","targets":{"build":{"executor":"@nx/node:build","options":{"outputPath":"dist/apps/api"}}}}',
    '{"projectType":"application","targets":{"build":{"executor":"@nx/vite:build"}}}',
    '{"projectType":"library"}',
    '{"projectType":"application","targets":{"build":{"executor":"@custom/thing:go"}}}',
  ],
  'requirements.txt': ['fastapi\nuvicorn\n', 'flask\ngunicorn\n', 'django\n', 'streamlit\n', '-r missing.txt\n', 'numpy\n'],
  'pyproject.toml': [
    '[project]\nname = "x"\ndependencies = ["fastapi[standard]", "django"]\n',
    '[tool.poetry]\nname = "p"\n[tool.poetry.dependencies]\npython = "^3.11"\nflask = "*"\n',
    '[project\nbroken = [\n',
  ],
  'manage.py': ['import os\nos.environ.setdefault("DJANGO_SETTINGS_MODULE", "site.settings")\n', 'print("no settings")\n'],
  'main.py': ['from fastapi import FastAPI\napp = FastAPI()\n', 'import os\nPORT = os.environ["PORT"]\n', 'port = 8000\n'],
  'app/main.py': ['from flask import Flask\napplication = Flask(__name__)\n', 'def create_app():\n    pass\n'],
  'apps/api/main.py': ['from fastapi import FastAPI\napp = FastAPI()\n'],
  'go.mod': ['module example.com/x\nrequire (\n github.com/gin-gonic/gin v1\n)\n', 'module x\n', 'garbage'],
  'main.go': ['package main\nimport "net/http"\nfunc main() { http.ListenAndServe(":8080", nil) }\n', 'package main\nfunc main() { r.Run() }\n', 'package lib\n'],
  'cmd/tool/main.go': ['package main\nimport "os"\nfunc main() { os.Getenv("PORT") }\n'],
  Gemfile: ['gem "rails"\n', 'gem "sinatra"\ngem "puma"\n', 'gem "jekyll"\n', 'gem "fastlane"\n'],
  'config.ru': ['run App\n'],
  'config/application.rb': ['module X; end\n'],
  Dockerfile: [
    'FROM node:20\nEXPOSE 3000 abc 99999\nCMD ["node", "server.js"]\n',
    'FROM x\nENTRYPOINT ["sh", "-c"]\nCMD ["echo $PORT"]\n',
    'FROM x\nCMD [not json\n',
    'FROM a AS b\nCMD x\nFROM c\n',
    'FROM x\nCMD []\n',
  ],
  'deno.json': ['{ "tasks": { "start": "deno run main.ts" }, }', '{"imports":{"$fresh/":"https://deno.land/x/fresh/"}}', '{"imports":{"fresh":"jsr:@fresh/core"}}'],
  'main.ts': ['Deno.serve(() => new Response("hi"))', 'export default { fetch() { return new Response() } }'],
  'Cargo.toml': ['[package]\nname = "svc"\n[dependencies]\naxum = "0.7"\n', '[workspace]\nmembers = ["a"]\n', '[package]\nname = "r"\n[dependencies.rocket]\nversion = "0.5"\n'],
  'src/main.rs': ['fn main() { let _ = "0.0.0.0:3000"; }', 'fn main() { std::env::var("PORT"); }'],
  'composer.json': ['{"require":{"laravel/framework":"^11"}}', '{"require":{"symfony/framework-bundle":"^7"}}', '{"require":"oops"}'],
  'pom.xml': [
    '<project><parent><artifactId>spring-boot-starter-parent</artifactId></parent><artifactId>a</artifactId><version>${revision}</version></project>',
    '<project><dependency>io.quarkus</dependency></project>',
  ],
  'build.gradle': ['plugins { id("org.springframework.boot") }', 'apply plugin: "java"'],
  'App.csproj': ['<Project Sdk="Microsoft.NET.Sdk.Web"></Project>', '<Project Sdk="Microsoft.NET.Sdk.BlazorWebAssembly"></Project>', '<Project Sdk="Microsoft.NET.Sdk"></Project>'],
  'mix.exs': ['defp deps, do: [{:phoenix, "~> 1.7"}, {:ecto_sql, "~> 3.0"}]', 'defp deps, do: [{:bandit, "~> 1.0"}]'],
  'gleam.toml': ['name = "app"\n[dependencies]\nwisp = "1"\n', 'name = "lib"\n'],
  'hugo.toml': ["baseURL = 'x'\npublishDir = '/etc'\n", "baseURL = 'x'\n"],
  'mkdocs.yml': ['site_name: x\nsite_dir: ../out\n', 'site_name: x\n'],
  '_config.yml': ['title: x\n'],
  'server.js': ['require("express")().listen(process.env.PORT)', 'app.listen(3000)', 'require("fastify")().listen({ port: 8080 })'],
  'apps/web/server.js': ['require("http").createServer().listen(3000)'],
};

const CHAOS = fc.oneof(
  fc.constantFrom('', '{', '{}', '[]', 'null', '"text"', '\u0000\u0001', 'a\r\nb: [c'),
  fc.string({ maxLength: 60 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
);

function contentFor(name: string): fc.Arbitrary<string> {
  if (name.endsWith('package.json')) return fc.oneof({ weight: 4, arbitrary: packageJson }, { weight: 1, arbitrary: CHAOS });
  const meaningful = MEANINGFUL[name];
  if (!meaningful) return fc.oneof(fc.constant(''), CHAOS);
  return fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...meaningful) }, { weight: 1, arbitrary: CHAOS });
}

/** A handful of the names above, each with contents that make sense for it (mostly) or garbage. */
const trees = fc
  .uniqueArray(fc.constantFrom(...NAMES), { maxLength: 8 })
  .chain((names) => fc.tuple(...names.map((name) => contentFor(name).map((text): [string, string] => [name, text]))))
  .map((entries) => Object.fromEntries(entries));

async function writeTree(root: string, files: Record<string, string>): Promise<void> {
  for (const [name, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, name)), { recursive: true });
    await writeFile(path.join(root, name), text);
  }
}

function checkDetection(detection: Detection): void {
  const text = renderManifest(detection);
  const data: unknown = parseYaml(text);
  expect(data).toBeTypeOf('object');
  expect(isDnsName(detection.project)).toBe(true);
  const names = detection.services.map((service) => service.name);
  expect(new Set(names).size).toBe(names.length);
  for (const service of detection.services) {
    expect(isDnsName(service.name)).toBe(true);
    expect(service.evidence.length).toBeGreaterThan(0);
    if (service.runtime === 'static') expect(service.staticDir).toBeDefined();
    else expect(service.start).toBeTruthy();
  }
  if (detection.services.length === 0) {
    expect(detection.problems.length).toBeGreaterThan(0);
  } else if (!detection.problems.some((problem) => problem.includes('all listen on fixed port'))) {
    const parsed = parseManifest(text, 'maestro.yml');
    if (!parsed.ok) throw new Error(`refused manifest:\n${text}\n${parsed.problems.map((problem) => problem.message).join('\n')}`);
  }
}

describe('detection on arbitrary file trees', () => {
  it('never throws, and always renders YAML the manifest parser accepts (or says why not)', async () => {
    await fc.assert(
      fc.asyncProperty(trees, async (files) => {
        checkDetection(await detectTree(memoryTree(files), 'some folder'));
      }),
      { numRuns: 400 },
    );
  });

  it('gives the same answer from the files on disk as from the same files in memory', async () => {
    const base = await mkdtemp(path.join(tmpdir(), 'maestro-detect-tree-'));
    let run = 0;
    try {
      await fc.assert(
        fc.asyncProperty(trees, async (files) => {
          run += 1;
          const root = path.join(base, `case-${run}`);
          await mkdir(root);
          await writeTree(root, files);
          const fromDisk = await detect(root);
          checkDetection(fromDisk);
          expect(fromDisk).toEqual(await detectTree(memoryTree(files), `case-${run}`));
        }),
        { numRuns: 60 },
      );
    } finally {
      await rm(base, { recursive: true, force: true });
    }
  });
});
