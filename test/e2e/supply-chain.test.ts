import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPgliteDb } from '../../src/store/pglite-db.js';
import { SLSA_PROVENANCE_V1 } from '../../src/supply-chain/provenance/index.js';
import { ROOT, cli, exampleCopy, routerGet, startTestMaestro, stopTestMaestro, versionOf, type TestMaestro } from './harness.js';

const HOST = 'web.production.hello.localhost';
const ADVISORIES = join(ROOT, '..', 'shared', 'osv');

/** node-hello at `version`, with extra maestro.yml text and files. */
async function app(version: string, options: { manifestTail?: string; files?: Record<string, string> } = {}): Promise<string> {
  const dir = await exampleCopy('node-hello', {
    'maestro.yml': (text) => text.replace('APP_VERSION: v1', `APP_VERSION: ${version}`) + (options.manifestTail ?? ''),
  });
  for (const [name, text] of Object.entries(options.files ?? {})) await writeFile(join(dir, name), text);
  return dir;
}

/** A lockfile naming minimist 1.2.5, which has a critical advisory (GHSA-xvch-5gv4-984h); the build does not install it. */
const VULNERABLE = {
  files: {
    'package.json': JSON.stringify({ name: 'node-hello', version: '1.0.0', private: true, type: 'module', dependencies: { minimist: '1.2.5' } }),
    'package-lock.json': JSON.stringify({
      name: 'node-hello',
      version: '1.0.0',
      lockfileVersion: 3,
      requires: true,
      packages: {
        '': { name: 'node-hello', version: '1.0.0', dependencies: { minimist: '1.2.5' } },
        'node_modules/minimist': {
          version: '1.2.5',
          resolved: 'https://registry.npmjs.org/minimist/-/minimist-1.2.5.tgz',
          integrity: 'sha512-FM9nNUYrRBAELZQT3xeZQ7fmMOBg6nWNmJKTcgsJeaLstP/UODVpGsr5OhXhhXg6f+qtJ8uiZ+PUxkDWcgIXLw==',
          license: 'MIT',
        },
      },
    }),
  },
};

const installNothing = (text: string) => text.replace('  web:\n', '  web:\n    build:\n      install: node -e 0\n');

describe('supply chain: evidence for every build, verified and gated on every deploy', () => {
  let maestro: TestMaestro;
  beforeAll(async () => {
    maestro = await startTestMaestro({ advisories: ADVISORIES });
  });
  afterAll(async () => stopTestMaestro(maestro));

  const deploy = async (dir: string, env = 'production') => {
    const result = await cli(['deploy', dir, '--env', env, '--json'], maestro.env);
    const json = result.stdout ? (JSON.parse(result.stdout) as { id: string; status: string; error?: string; revision?: string }) : undefined;
    return { ...result, json };
  };
  const buildOf = async (deploymentId: string) => (await maestro.store.builds.forDeployment(deploymentId)).at(-1)!;
  const serving = async () => versionOf((await routerGet(maestro.routerPort, HOST)).body);

  let v1Artifact = '';

  it('gives a deployed build an SBOM, a scan and signed provenance that `maestro verify` checks', async () => {
    const result = await deploy(await app('v1'));
    expect(result.code, result.stderr).toBe(0);
    expect(await serving()).toBe('v1');
    const build = await buildOf(result.json!.id);
    v1Artifact = build.artifactDigest!;

    const sbom = await cli(['sbom', build.id], maestro.env);
    expect(sbom.code, sbom.stderr).toBe(0);
    expect(JSON.parse(sbom.stdout)).toMatchObject({ bomFormat: 'CycloneDX', specVersion: '1.6' });
    const spdx = await cli(['sbom', build.id, '--format', 'spdx'], maestro.env);
    expect(JSON.parse(spdx.stdout)).toMatchObject({ spdxVersion: 'SPDX-2.3' });

    const verified = await cli(['verify', v1Artifact, '--json'], maestro.env);
    expect(verified.code, verified.stderr).toBe(0);
    const checks = (JSON.parse(verified.stdout) as { checks: Array<{ name: string; ok: boolean }> }).checks;
    expect(checks.map((check) => check.name)).toEqual(expect.arrayContaining(['signature', 'subject', 'builder']));
    expect(checks.every((check) => check.ok)).toBe(true);

    const decision = (await maestro.store.policyEvaluations.listForDeployment(result.json!.id)).at(-1);
    expect(decision).toMatchObject({ outcome: 'allow' });
  });

  it('answers 404 for the SBOM of a build that does not exist', async () => {
    const result = await cli(['sbom', 'bld_doesnotexist'], maestro.env);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/no build|not found/i);
  });

  it('refuses to deploy an artifact whose stored bytes were changed, and the previous revision keeps serving', async () => {
    // Built and verified in staging, then tampered with before it is promoted to production.
    const staged = await deploy(await app('v2'), 'staging');
    expect(staged.code, staged.stderr).toBe(0);
    const artifact = (await buildOf(staged.json!.id)).artifactDigest!;
    const path = maestro.plane.artifacts.path(artifact);
    await chmod(path, 0o644);
    const bytes = await readFile(path);
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 10) ^ 0xff, bytes.length - 10);
    await writeFile(path, bytes);

    const promoted = await deploy(await app('v2'));
    expect(promoted.code).not.toBe(0);
    expect(promoted.json).toMatchObject({ status: 'failed' });
    expect(promoted.json!.error).toMatch(/does not verify/);
    expect(promoted.json!.error).toMatch(/subject/);
    expect(await serving()).toBe('v1');
  });

  it('refuses an artifact whose signed envelope was edited, and the previous revision keeps serving', async () => {
    const staged = await deploy(await app('v3'), 'staging');
    expect(staged.code, staged.stderr).toBe(0);
    const artifact = (await buildOf(staged.json!.id)).artifactDigest!;
    const record = (await maestro.store.attestations.get(artifact, SLSA_PROVENANCE_V1))!;
    const bundle = structuredClone(record.bundle) as { dsseEnvelope: { payload: string } };
    const statement = JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString('utf8')) as { predicate: { runDetails: { builder: { id: string } } } };
    statement.predicate.runDetails.builder.id = 'https://ci.example.com/someone-else';
    bundle.dsseEnvelope.payload = Buffer.from(JSON.stringify(statement)).toString('base64');
    await maestro.store.attestations.put({ ...record, bundle });

    const promoted = await deploy(await app('v3'));
    expect(promoted.code).not.toBe(0);
    expect(promoted.json!.error).toMatch(/does not verify/);
    expect(promoted.json!.error).toMatch(/signature/);
    expect(await serving()).toBe('v1');
  });

  it('checks an artifact again whenever it is unpacked to run (a rollback, a wake), and refuses changed bytes', async () => {
    const path = maestro.plane.artifacts.path(v1Artifact);
    const good = await readFile(path);
    await chmod(path, 0o644);
    await writeFile(path, Buffer.concat([good, Buffer.from('tampered')]));
    await expect(maestro.plane.runner.materialize({ id: 'rev_unpackedagain', artifactDigest: v1Artifact })).rejects.toThrow(/does not verify/);
    await writeFile(path, good);
    await expect(maestro.plane.evidence.verify(v1Artifact)).resolves.toMatchObject({ ok: true });
  });

  it('blocks a release with a critical vulnerability until someone waives the policy for that artifact', async () => {
    const dir = await app('v4', { files: VULNERABLE.files });
    await writeFile(join(dir, 'maestro.yml'), installNothing(await readFile(join(dir, 'maestro.yml'), 'utf8')));
    const denied = await deploy(dir);
    expect(denied.code).not.toBe(0);
    expect(denied.json!.error).toMatch(/policy gate/);
    expect(denied.json!.error).toMatch(/no-critical-vulnerabilities/);
    expect(await serving()).toBe('v1');

    const build = await buildOf(denied.json!.id);
    const vulns = await cli(['vulns', build.id, '--json'], maestro.env);
    expect(vulns.stdout).toContain('GHSA-xvch-5gv4-984h');

    const waived = await cli(
      ['policy', 'waive', 'no-critical-vulnerabilities', '--project', 'hello', '--artifact', build.artifactDigest!, '--reason', 'minimist is only parsed with our own flags'],
      maestro.env,
    );
    expect(waived.code, waived.stderr).toBe(0);
    const allowed = await deploy(dir);
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(await serving()).toBe('v4');
    const events = await maestro.store.lifecycle.list({ types: ['policy.waived'] });
    expect(events.map((event) => event.reason)).toContain('minimist is only parsed with our own flags');
  });

  it("gates on the manifest's own policies, with the failing policy's message", async () => {
    const tail = [
      'policies:',
      '  - name: coverage-80',
      '    environments: [production]',
      '    expression: has(input.build.coverage) && input.build.coverage.line >= 80.0',
      '    message: line coverage must be at least 80%',
      '',
    ].join('\n');
    const denied = await deploy(await app('v5', { manifestTail: tail }));
    expect(denied.code).not.toBe(0);
    expect(denied.json!.error).toMatch(/coverage-80.*line coverage must be at least 80%/s);
    expect(await serving()).toBe('v4');

    // The test step's json-summary report counts: 91% passes.
    const summary = JSON.stringify({ total: { lines: { total: 100, covered: 91, skipped: 0, pct: 91 } } });
    const covered = await app('v5', {
      manifestTail: tail,
      files: { 'make-coverage.mjs': `import { mkdirSync, writeFileSync } from 'node:fs'; mkdirSync('coverage', { recursive: true }); writeFileSync('coverage/coverage-summary.json', ${JSON.stringify(summary)});\n` },
    });
    await writeFile(
      join(covered, 'maestro.yml'),
      (await readFile(join(covered, 'maestro.yml'), 'utf8')).replace('  web:\n', '  web:\n    build:\n      test: node make-coverage.mjs\n'),
    );
    const allowed = await deploy(covered);
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(await serving()).toBe('v5');
  });
});

describe('upgrading an installation whose kept releases were built before builds were signed', () => {
  let maestro: TestMaestro | undefined;
  afterAll(async () => stopTestMaestro(maestro));

  it('attests them at start, so they still verify and run', async () => {
    const first = await startTestMaestro();
    const deployed = await cli(['deploy', await app('v1'), '--json'], first.env);
    expect(deployed.code, deployed.stderr).toBe(0);
    const id = (JSON.parse(deployed.stdout) as { id: string }).id;
    const artifact = (await first.store.builds.forDeployment(id)).at(-1)!.artifactDigest!;
    await first.stop({ stopApps: true });

    // What an older Maestro left: the same release, with no attestation.
    const db = await openPgliteDb(join(first.dataDir, 'db'));
    await db.query('DELETE FROM attestations');
    await db.close();

    maestro = await startTestMaestro({ dataDir: first.dataDir });
    expect(await maestro.store.attestations.get(artifact, SLSA_PROVENANCE_V1)).toBeDefined();
    const verified = await cli(['verify', artifact], maestro.env);
    expect(verified.code, verified.stderr).toBe(0);
  });
});
