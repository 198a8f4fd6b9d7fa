import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseManifest, servicesToDeploy, type Manifest } from '../../src/manifest/index.js';
import { changedServices, watchedWorkspaces } from '../../src/previews/index.js';

function manifestOf(text: string): Manifest {
  const result = parseManifest(text, 'maestro.yml');
  if (!result.ok) throw new Error(result.problems.map((p) => p.message).join('\n'));
  return result.manifest;
}

const MONOREPO = fileURLToPath(new URL('../../examples/monorepo', import.meta.url));

/** Folder names that cannot be glob syntax, so a generated folder is a plain path. */
const segment = fc.stringMatching(/^[a-z][a-z0-9_.-]{0,8}$/).filter((name) => name !== '.' && !name.includes('..'));
const folder = fc.array(segment, { minLength: 1, maxLength: 3 }).map((parts) => parts.join('/'));
const fileName = fc.stringMatching(/^\.?[a-z][a-z0-9_-]{0,8}(\.[a-z]{1,4})?$/);
const relativeFile = fc.array(fileName, { minLength: 1, maxLength: 3 }).map((parts) => parts.join('/'));

/** A manifest of services in the given folders (`s0` in the first, ...). */
function servicesIn(folders: readonly string[], watch: Record<number, string[]> = {}): Manifest {
  const services = folders.map((path, i) => `  s${i}:\n    path: ${path}\n    start: node server.js${watch[i] ? `\n    watch: ${JSON.stringify(watch[i])}` : ''}`);
  return manifestOf(`project: mono\nservices:\n${services.join('\n')}\n`);
}

const isWithin = (path: string, dir: string): boolean => path === dir || path.startsWith(`${dir}/`);

describe('servicesToDeploy, by default each service watches its folder', () => {
  it('picks exactly the services whose folder holds a changed path', () => {
    fc.assert(
      fc.property(fc.uniqueArray(folder, { minLength: 1, maxLength: 4 }), fc.array(fc.tuple(fc.nat(10), relativeFile), { maxLength: 5 }), (folders, picks) => {
        const manifest = servicesIn(folders);
        const changed = picks.map(([index, file]) => `${folders[index % folders.length]}/${file}`);
        const expected = folders.flatMap((dir, i) => (changed.some((path) => isWithin(path, dir)) ? [`s${i}`] : []));
        expect(servicesToDeploy(manifest, changed)).toEqual(expected);
      }),
    );
  });

  it('picks nothing for paths outside every service folder, and everything when maestro.yml changed', () => {
    fc.assert(
      fc.property(fc.uniqueArray(folder, { minLength: 1, maxLength: 4 }), fc.array(relativeFile, { maxLength: 5 }), (folders, files) => {
        const manifest = servicesIn(folders.map((dir) => `apps/${dir}`));
        const outside = files.map((file) => `docs/${file}`);
        expect(servicesToDeploy(manifest, outside)).toEqual([]);
        expect(servicesToDeploy(manifest, [...outside, 'maestro.yml'])).toEqual(Object.keys(manifest.services));
      }),
    );
  });

  it('a service at the repository root watches everything; ./ and a leading / in paths are tolerated', () => {
    const manifest = manifestOf('project: one\nservices:\n  web: { start: node server.js }\n');
    expect(servicesToDeploy(manifest, ['README.md'])).toEqual(['web']);
    expect(servicesToDeploy(manifest, ['.github/workflows/ci.yml'])).toEqual(['web']);
    expect(servicesToDeploy(manifest, [])).toEqual([]);
    const apps = servicesIn(['apps/web']);
    expect(servicesToDeploy(apps, ['./apps/web/server.js'])).toEqual(['s0']);
    expect(servicesToDeploy(apps, ['/apps/web/.env'])).toEqual(['s0']);
    expect(servicesToDeploy(apps, ['apps/website/index.js'])).toEqual([]);
  });
});

describe('servicesToDeploy with watch patterns', () => {
  it('a pattern naming a file matches that file alone; one naming a folder covers what is in it', () => {
    fc.assert(
      fc.property(relativeFile, relativeFile, (target, other) => {
        fc.pre(!isWithin(other, target) && !isWithin(target, other));
        const manifest = servicesIn(['apps/web'], { 0: [target] });
        expect(servicesToDeploy(manifest, [target])).toEqual(['s0']);
        expect(servicesToDeploy(manifest, [`${target}/inner.txt`])).toEqual(['s0']);
        expect(servicesToDeploy(manifest, [other])).toEqual([]);
        // The service's own folder is no longer watched once the manifest says what is.
        expect(servicesToDeploy(manifest, ['apps/web/server.js'])).toEqual(target === 'apps/web/server.js' ? ['s0'] : []);
      }),
    );
  });

  it('globs match as written and ! patterns leave paths out', () => {
    const manifest = servicesIn(['apps/web', 'apps/api'], { 0: ['apps/web', 'shared/**/*.css', '!apps/web/**/*.md'], 1: ['apps/api/src/*.ts'] });
    expect(servicesToDeploy(manifest, ['shared/theme/dark.css'])).toEqual(['s0']);
    expect(servicesToDeploy(manifest, ['shared/theme/dark.js'])).toEqual([]);
    expect(servicesToDeploy(manifest, ['apps/web/docs/intro.md'])).toEqual([]);
    expect(servicesToDeploy(manifest, ['apps/web/docs/intro.md', 'apps/web/server.js'])).toEqual(['s0']);
    expect(servicesToDeploy(manifest, ['apps/api/src/main.ts'])).toEqual(['s1']);
    expect(servicesToDeploy(manifest, ['apps/api/src/deep/main.ts'])).toEqual([]);
    expect(servicesToDeploy(manifest, ['apps/api/src/main.ts', 'maestro.yml'])).toEqual(['s0', 's1']);
  });

  it('rejects patterns that leave the repository or are absolute, saying what to write', () => {
    const result = parseManifest('project: p\nservices:\n  web:\n    start: x\n    watch: ["../other", "/etc/passwd", "", "ok/**"]\n', 'maestro.yml');
    expect(result.ok).toBe(false);
    const messages = result.ok ? [] : result.problems.map((problem) => problem.message);
    expect(messages.some((m) => m.includes('"../other" leaves the repository'))).toBe(true);
    expect(messages.some((m) => m.includes('"/etc/passwd" is an absolute path'))).toBe(true);
    expect(messages.some((m) => m.includes('services.web.watch[2]') && m.includes('a path pattern inside the repository'))).toBe(true);
  });

  it('normalises spellings of one pattern', () => {
    const manifest = servicesIn(['apps/web'], { 0: ['./apps/web/', '! ./apps/web/tmp'] });
    expect(manifest.services['s0']!.watch).toEqual(['apps/web', '!apps/web/tmp']);
  });
});

describe('default watch paths in a monorepo (examples/monorepo)', () => {
  it('follow the workspace packages a service depends on, and the workspace root files', async () => {
    const manifestText = await readFile(`${MONOREPO}/maestro.yml`, 'utf8');
    const manifest = manifestOf(manifestText);
    const workspaces = await watchedWorkspaces(MONOREPO, manifest);
    expect(workspaces).toEqual({
      api: { packages: [], workspaceRoot: '' },
      web: { packages: ['packages/greeting'], workspaceRoot: '' },
    });
    const changed = (paths: string[]) => changedServices({ manifestText, sourceDir: MONOREPO, changed: paths });
    expect(await changed(['packages/greeting/index.js'])).toEqual(['web']);
    expect(await changed(['apps/api/server.js'])).toEqual(['api']);
    expect(await changed(['apps/web/server.js'])).toEqual(['web']);
    expect(await changed(['package-lock.json'])).toEqual(['api', 'web']);
    expect(await changed(['packages/other/index.js'])).toEqual([]);
    expect(await changed(['maestro.yml'])).toEqual(['api', 'web']);
    // Without the workspace facts, only the services' own folders count.
    expect(servicesToDeploy(manifest, ['packages/greeting/index.js'])).toEqual([]);
  });
});
