import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MaestroError } from '../../src/common/errors.js';
import { loadManifest, validateFile } from '../../src/manifest/index.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'maestro-manifest-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function failure(promise: Promise<unknown>): Promise<MaestroError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(MaestroError);
  return error as MaestroError;
}

describe('loadManifest', () => {
  it('reads maestro.yml from a folder or from the file path', async () => {
    await writeFile(join(dir, 'maestro.yml'), 'project: shop\nservices:\n  web: { start: node server.js, port: 80, replicas: 2 }\n');
    const fromFolder = await loadManifest(dir);
    expect(fromFolder.file).toBe(join(dir, 'maestro.yml'));
    expect(fromFolder.manifest.project).toBe('shop');
    expect(fromFolder.warnings.map((w) => w.message)).toEqual([
      'services.web.replicas: 2 replicas cannot all listen on fixed port 80 on one machine; use port: $PORT',
    ]);
    expect((await loadManifest(join(dir, 'maestro.yml'))).manifest).toEqual(fromFolder.manifest);
  });

  it('says how to get a manifest when there is none', async () => {
    const error = await failure(loadManifest(dir));
    expect(error.code).toBe('not_found');
    expect(error.message).toBe(`no maestro.yml in ${dir}; run \`maestro init\` to write one`);
    expect((await failure(loadManifest(join(dir, 'maestro.yml')))).message).toBe(
      `no maestro.yml in ${dir}; run \`maestro init\` to write one`,
    );
  });

  it('points at a maestro.yaml that should be renamed', async () => {
    await writeFile(join(dir, 'maestro.yaml'), 'project: shop\n');
    expect((await failure(loadManifest(dir))).message).toBe(`no maestro.yml in ${dir}; found maestro.yaml, rename it to maestro.yml`);
  });

  it('throws a validation error listing every problem as file:line:col', async () => {
    const file = join(dir, 'maestro.yml');
    await writeFile(file, 'project: shop\nservices:\n  web:\n    replicas: three\n    start: x\n    helth: {}\n');
    const error = await failure(loadManifest(dir));
    expect(error.code).toBe('validation_error');
    expect(error.message).toBe(
      [
        `${file} has 2 problems:`,
        `${file}:4:15: services.web.replicas: must be a whole number from 0 to 100, got "three"`,
        `${file}:6:5: services.web.helth: unknown field; did you mean \`health\`?`,
      ].join('\n'),
    );
    expect((error.details as { problems: unknown[] }).problems).toHaveLength(2);
  });

  it('refuses a file too large to be a manifest before parsing it', async () => {
    await writeFile(join(dir, 'maestro.yml'), `# ${'x'.repeat(1024 * 1024)}\n`);
    const error = await failure(loadManifest(dir));
    expect(error.code).toBe('validation_error');
    expect(error.message).toMatch(/is \d+ bytes; a manifest may be at most 1048576 bytes$/);
  });
});

describe('validateFile', () => {
  it('returns problems and warnings rather than throwing', async () => {
    const sub = join(dir, 'app');
    await mkdir(sub);
    await writeFile(join(sub, 'maestro.yml'), 'project: shop\nservices:\n  web: { runtime: static, start: x }\n');
    expect(await validateFile(sub)).toEqual({
      problems: [],
      warnings: [
        {
          file: join(sub, 'maestro.yml'),
          line: 3,
          column: 34,
          path: 'services.web.start',
          message: 'services.web.start: is ignored because runtime is static; Maestro serves the static folder itself',
        },
      ],
    });
    await writeFile(join(sub, 'maestro.yml'), 'project: Shop\nservices:\n  web: { start: x }\n');
    const { problems, warnings } = await validateFile(join(sub, 'maestro.yml'));
    expect(warnings).toEqual([]);
    expect(problems.map((p) => `${p.line}:${p.column} ${p.path}`)).toEqual(['1:10 project']);
  });
});
