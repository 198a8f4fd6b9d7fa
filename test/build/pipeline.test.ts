import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packSource, runPipeline, looksTransient, StepFailure } from '../../src/build/index.js';
import { openPipelineHarness, type PipelineHarness } from './pipeline-harness.js';

describe('the build pipeline', () => {
  let harness: PipelineHarness;
  let root: string;
  let archive: string;
  const newBuild = () => harness.newBuild();

  beforeAll(async () => {
    harness = await openPipelineHarness('maestro-pipeline-');
    root = harness.root;
    const app = join(root, 'app');
    await mkdir(app, { recursive: true });
    await writeFile(join(app, 'index.js'), 'console.log("hi")\n');
    await writeFile(join(app, 'maestro.yml'), 'project: p\nservices: {web: {start: node index.js}}\n');
    archive = (await packSource(app, { outFile: join(root, 'source.tar.gz') })).archive;
  });
  afterAll(async () => {
    await harness.close();
  });

  const run = (buildId: string, workDir: string, extra: Partial<Parameters<typeof runPipeline>[2]> = {}) =>
    runPipeline(harness.store, harness.artifacts, {
      buildId,
      sourceArchive: archive,
      workDir,
      servicePath: '.',
      install: 'mkdir -p node_modules/dep && echo "module.exports = 1" > node_modules/dep/index.js',
      command: 'echo "$SOURCE_DATE_EPOCH" > out.txt',
      env: {},
      sourceDateEpoch: 1_700_000_000,
      onLog: () => undefined,
      ...extra,
    });

  it('builds the same source twice to the same artifact digest', async () => {
    const first = await run(await newBuild(), join(root, 'work-a'));
    const second = await run(await newBuild(), join(root, 'work-b'));
    expect(first.artifactDigest).toBe(second.artifactDigest);
    expect(first.steps.map((s) => [s.name, s.status])).toEqual([
      ['install', 'succeeded'],
      ['build', 'succeeded'],
      ['test', 'skipped'],
      ['package', 'succeeded'],
    ]);
  });

  it('resumes in the same work folder without running finished steps again', async () => {
    const buildId = await newBuild();
    const workDir = join(root, 'work-resume');
    const installs = join(root, 'installs.txt');
    const allowed = join(root, 'allowed');
    const steps = { install: `echo ran >> ${installs}`, command: `test -f ${allowed} || exit 3` };
    await expect(run(buildId, workDir, steps)).rejects.toThrow(/exit code 3/);
    // The failed build runs again (a resumed job): install is kept, build runs again.
    await writeFile(allowed, '');
    const resumed = await run(buildId, workDir, steps);
    expect((await readFile(installs, 'utf8')).trim().split('\n')).toEqual(['ran']);
    const recorded = await harness.store.buildSteps.list(buildId);
    expect(recorded.map((s) => [s.name, s.status, s.attempt])).toEqual([
      ['install', 'succeeded', 1],
      ['build', 'succeeded', 2],
      ['test', 'skipped', 0],
      ['package', 'succeeded', 1],
    ]);
    expect(resumed.artifactDigest).toMatch(/^[0-9a-f]{64}$/);
  });

  it('tells network trouble in an install from a broken build', async () => {
    const buildId = await newBuild();
    const failure = await run(buildId, join(root, 'work-net'), { install: 'echo "npm ERR! code ECONNRESET" && exit 1' }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(StepFailure);
    expect((failure as StepFailure).transient).toBe(true);
    expect(looksTransient('build', ['ECONNRESET'])).toBe(false);
    expect(looksTransient('install', ['npm ERR! 404 Not Found - GET https://registry.npmjs.org/nope'])).toBe(false);
  });
});
