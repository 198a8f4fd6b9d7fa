import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { describeDetection, detect, renderManifest, renderUnknownManifest, type Detection } from '../../src/manifest/detect/index.js';
import { parseManifest } from '../../src/manifest/index.js';

const fixtures = fileURLToPath(new URL('./fixtures', import.meta.url));

const nextApp: Detection = {
  project: 'storefront',
  problems: [],
  services: [
    {
      name: 'web',
      path: '.',
      runtime: 'node',
      framework: 'Next.js',
      packageManager: 'pnpm',
      packageManagerEvidence: { file: 'package.json', reason: 'packageManager field "pnpm@9.1.0"' },
      install: 'pnpm install --frozen-lockfile',
      build: 'pnpm run build',
      start: 'pnpm exec next start -p $PORT',
      port: '$PORT',
      health: '/healthz',
      env: { NODE_ENV: 'production' },
      evidence: [
        { file: 'package.json', reason: 'dependency "next"' },
        { file: 'package.json', reason: 'packageManager field "pnpm@9.1.0"' },
      ],
      notes: [],
    },
  ],
};

describe('renderManifest', () => {
  it('writes YAML with the manifest keys and a header saying what was detected from where', () => {
    const text = renderManifest(nextApp);
    expect(text).toContain('# detected Next.js from package.json dependency "next"\n');
    expect(parseYaml(text)).toEqual({
      project: 'storefront',
      services: {
        web: {
          path: '.',
          runtime: 'node',
          build: { install: 'pnpm install --frozen-lockfile', command: 'pnpm run build' },
          start: 'pnpm exec next start -p $PORT',
          port: '$PORT',
          health: { path: '/healthz' },
          env: { NODE_ENV: 'production' },
        },
      },
      environments: { production: { strategy: 'immediate' } },
    });
  });

  it('a static site has static.dir and neither start nor port', () => {
    const site: Detection = {
      project: 'blog',
      problems: [],
      services: [
        { name: 'web', path: '.', runtime: 'static', framework: 'Hugo', build: 'hugo --minify', staticDir: 'public', port: '$PORT', evidence: [], notes: [] },
      ],
    };
    const web = (parseYaml(renderManifest(site)) as { services: Record<string, Record<string, unknown>> }).services.web!;
    expect(web).toEqual({ path: '.', runtime: 'static', build: { command: 'hugo --minify' }, static: { dir: 'public' } });
  });

  it('notes go above their service, and text from files cannot break out of a comment', () => {
    const hostile: Detection = {
      ...nextApp,
      project: 'Weird Name!',
      services: [
        {
          ...nextApp.services[0]!,
          evidence: [{ file: 'package.json', reason: 'script "start": node a.js\nservices: {evil: 1}' }],
          notes: ['first line\r\nproject: hijacked', 'second # not a key'],
          dependsOn: ['api'],
        },
        { ...nextApp.services[0]!, name: 'api', path: 'apps/api' },
      ],
    };
    const text = renderManifest(hostile);
    const data = parseYaml(text) as { project: string; services: Record<string, { depends_on?: string[] }> };
    expect(data.project).toBe('weird-name');
    expect(Object.keys(data.services)).toEqual(['web', 'api']);
    expect(data.services.web!.depends_on).toEqual(['api']);
    expect(text).toContain('  # first line project: hijacked\n  # second # not a key\n  web:\n');
  });

  it('with no services it is the skeleton to fill in', () => {
    const empty: Detection = { project: 'x', services: [], problems: ['the folder is empty: there is no app to deploy yet'] };
    expect(renderManifest(empty)).toBe(renderUnknownManifest('x', 'the folder is empty: there is no app to deploy yet'));
  });

  it('the manifest of every fixture is accepted by the maestro.yml parser', async () => {
    for (const name of readdirSync(fixtures).sort()) {
      const detection = await detect(`${fixtures}/${name}`);
      const result = parseManifest(renderManifest(detection), `${name}/maestro.yml`);
      if (!result.ok) throw new Error(`${name}: ${result.problems.map((problem) => problem.message).join('; ')}`);
      expect(Object.keys(result.manifest.services).sort()).toEqual(detection.services.map((service) => service.name).sort());
    }
  });
});

describe('renderUnknownManifest', () => {
  it('is YAML naming the project, with every service line commented and the reason on comment lines', () => {
    const text = renderUnknownManifest('My App', 'no app found\nsecond: line');
    expect(parseYaml(text)).toEqual({ project: 'my-app', environments: { production: { strategy: 'immediate' } } });
    expect(text).toContain('#   no app found\n#   second: line\n');
    for (const line of text.split('\n')) if (/^\s*(services|web|start|runtime):/.test(line)) throw new Error(`live line: ${line}`);
    expect(text).toMatch(/# It looked for package\.json/);
  });
});

describe('describeDetection', () => {
  it('tells each service, what gave it away, its package manager and what to check', () => {
    const lines = describeDetection({
      ...nextApp,
      services: [{ ...nextApp.services[0]!, notes: ['set a secret'] }],
      skipped: [{ path: 'packages/ui', reason: 'library' }],
      problems: ['apps/x/package.json is not valid JSON'],
    });
    expect(lines).toEqual([
      'web: detected Next.js from package.json dependency "next" (pnpm from packageManager field "pnpm@9.1.0")',
      '  - set a secret',
      'skipped packages/ui: library',
      'problem: apps/x/package.json is not valid JSON',
    ]);
  });
});
