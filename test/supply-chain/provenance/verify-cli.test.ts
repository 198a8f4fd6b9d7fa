import { createHash, createPublicKey } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../../src/store/index.js';
import { masterKeyPath } from '../../../src/secrets/index.js';
import { attest, generateSigningKey, openSigningKey, type SigningKey } from '../../../src/supply-chain/provenance/index.js';
import { cli, startTestMaestro, stopTestMaestro, type TestMaestro } from '../../e2e/harness.js';
import { COMMIT, SOURCE_DIGEST, sampleFacts, sha256 } from './fixtures.js';

const ARTIFACT = Buffer.from('an artifact the e2e test uploads and signs\n'.repeat(1000));
const DIGEST = sha256(ARTIFACT);

async function api<T>(maestro: TestMaestro, method: 'GET' | 'PUT', path: string, body?: Buffer): Promise<{ status: number; json: T }> {
  const response = await request(`${maestro.apiUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${maestro.token}`, ...(body ? { 'content-type': 'application/octet-stream' } : {}) },
    ...(body ? { body } : {}),
  });
  const text = await response.body.text();
  return { status: response.statusCode, json: (text ? JSON.parse(text) : undefined) as T };
}

async function createBuild(store: Store): Promise<string> {
  const project = await store.projects.ensure('hello');
  const service = await store.services.ensure(project.id, 'web');
  const environment = await store.environments.ensure(project.id, 'production');
  const { deployment } = await store.deployments.createOrGetInProgress({
    projectId: project.id,
    serviceId: service.id,
    environmentId: environment.id,
    sourceDigest: SOURCE_DIGEST,
    config: {},
  });
  return (await store.builds.create({ deploymentId: deployment.id, sourceDigest: SOURCE_DIGEST })).id;
}

describe('maestro verify against a running Maestro', () => {
  let maestro: TestMaestro;
  let key: SigningKey;
  let dir: string;
  let artifactFile: string;
  let bundleFile: string;
  let pubFile: string;
  let buildId: string;

  beforeAll(async () => {
    maestro = await startTestMaestro();
    dir = await mkdtemp(join(tmpdir(), 'maestro-verify-'));
    expect((await api(maestro, 'PUT', `/v1/artifacts/${DIGEST}`, ARTIFACT)).status).toBe(201);
    // The pipeline will sign each build's artifact; here the test signs one through the library with the server's own key.
    key = await openSigningKey({ store: maestro.store, dataDir: maestro.dataDir });
    buildId = await createBuild(maestro.store);
    await attest(maestro.store, key, { provenance: sampleFacts({ buildId, artifact: { name: 'hello-web.tar.gz', digest: DIGEST } }) });

    artifactFile = join(dir, 'hello-web.tar.gz');
    await writeFile(artifactFile, ARTIFACT);
    const { json } = await api<{ attestations: Array<{ bundle: unknown }> }>(maestro, 'GET', `/v1/artifacts/${DIGEST}/attestations`);
    bundleFile = join(dir, 'hello-web.sigstore.json');
    await writeFile(bundleFile, JSON.stringify(json.attestations[0]!.bundle));
    pubFile = join(dir, 'maestro.pub');
    await writeFile(pubFile, key.publicKeyPem);
  });
  afterAll(async () => {
    await stopTestMaestro(maestro);
    await rm(dir, { recursive: true, force: true });
  });

  it('serves the public key with its id (sha256 of the DER key, the bundles\' hint), the attestations and the artifact bytes', async () => {
    const keys = await api<{ keys: Array<{ id: string; publicKeyPem: string; active: boolean }> }>(maestro, 'GET', '/v1/keys');
    expect(keys.json.keys).toHaveLength(1);
    const served = keys.json.keys[0]!;
    const der = createPublicKey(served.publicKeyPem).export({ type: 'spki', format: 'der' });
    expect(served).toMatchObject({ id: createHash('sha256').update(der).digest('hex'), active: true });
    expect(served.id).toBe(key.id);

    const bundle = JSON.parse(await readFile(bundleFile, 'utf8'));
    expect(bundle).toMatchObject({ mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json', verificationMaterial: { publicKey: { hint: served.id } } });
    const listed = await api<{ attestations: Array<{ predicateType: string; buildId: string; keyId: string }> }>(maestro, 'GET', `/v1/artifacts/${DIGEST}/attestations`);
    expect(listed.json.attestations).toMatchObject([{ predicateType: 'https://slsa.dev/provenance/v1', buildId, keyId: served.id }]);
    expect((await api(maestro, 'GET', `/v1/artifacts/${sha256('nothing')}/attestations`)).json).toEqual({ attestations: [] });

    const bytes = await request(`${maestro.apiUrl}/v1/artifacts/${DIGEST}`, { headers: { authorization: `Bearer ${maestro.token}` } });
    expect(bytes.statusCode).toBe(200);
    expect(Buffer.from(await bytes.body.arrayBuffer()).equals(ARTIFACT)).toBe(true);
    expect((await api(maestro, 'GET', `/v1/artifacts/not-a-digest`)).status).toBe(400);
  });

  it('verifies an artifact on the server by its digest, printing each check', async () => {
    const result = await cli(['verify', DIGEST, '--commit', COMMIT], maestro.env);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines[0]).toBe(`artifact sha256:${DIGEST}`);
    expect(lines.slice(1, -1).map((line) => line.split(/\s{2,}/).slice(0, 2))).toEqual([
      ['ok', 'attestation'],
      ['ok', 'key'],
      ['ok', 'bundle'],
      ['ok', 'signature'],
      ['ok', 'statement'],
      ['ok', 'predicate type'],
      ['ok', 'subject'],
      ['ok', 'builder'],
      ['ok', 'source'],
    ]);
    expect(lines.at(-1)).toBe('verified');
  });

  it('verifies a file by its hash, with the key pinned, and fails on the wrong commit', async () => {
    const pinned = await cli(['verify', artifactFile, '--key', pubFile, '--json'], maestro.env);
    expect(pinned.code).toBe(0);
    expect(JSON.parse(pinned.stdout)).toMatchObject({ ok: true, artifact: DIGEST, predicateType: 'https://slsa.dev/provenance/v1' });

    const wrongCommit = await cli(['verify', artifactFile, '--commit', 'b'.repeat(40)], maestro.env);
    expect(wrongCommit.code).toBe(1);
    expect(wrongCommit.stdout).toContain(`FAIL  source          built from commit ${COMMIT}`);
    expect(wrongCommit.stdout).toContain('NOT verified: 1 of 9 checks failed');
  });

  it('fails with a key pinned to another key: signature made by another key', async () => {
    const otherPub = join(dir, 'other.pub');
    await writeFile(otherPub, generateSigningKey().publicKeyPem);
    const result = await cli(['verify', DIGEST, '--key', otherPub], maestro.env);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/FAIL {2}signature +signature made by another key: the bundle names key [0-9a-f]{64}, the trusted key is [0-9a-f]{64}/);
  });

  it('fails for changed artifact bytes: no attestation for their digest, and the bundle is not about them', async () => {
    const tampered = join(dir, 'tampered.tar.gz');
    const bytes = Buffer.concat([ARTIFACT, Buffer.from('#')]);
    await writeFile(tampered, bytes);
    const lookedUp = await cli(['verify', tampered], maestro.env);
    expect(lookedUp.code).toBe(1);
    expect(lookedUp.stdout).toContain(`FAIL  attestation  no provenance attestation for sha256:${sha256(bytes)}`);

    // Offline: the file, its bundle and a pinned key, with no server to ask.
    const offline = await cli(['verify', tampered, '--bundle', bundleFile, '--key', pubFile], { MAESTRO_URL: 'http://127.0.0.1:1', MAESTRO_TOKEN: 'unused' });
    expect(offline.code).toBe(1);
    expect(offline.stdout).toContain(`subject digest sha256:${DIGEST} does not match the artifact sha256:${sha256(bytes)}`);
    const genuine = await cli(['verify', artifactFile, '--bundle', bundleFile, '--key', pubFile], { MAESTRO_URL: 'http://127.0.0.1:1', MAESTRO_TOKEN: 'unused' });
    expect(genuine.code).toBe(0);
  });

  it('fails for an envelope whose payload was edited', async () => {
    const bundle = JSON.parse(await readFile(bundleFile, 'utf8'));
    const statement = JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString('utf8'));
    statement.predicate.runDetails.builder.id = 'https://maestro.dev/builder/v1';
    statement.predicate.buildDefinition.externalParameters.commit = 'c'.repeat(40);
    bundle.dsseEnvelope.payload = Buffer.from(JSON.stringify(statement)).toString('base64');
    const edited = join(dir, 'edited.sigstore.json');
    await writeFile(edited, JSON.stringify(bundle));
    const result = await cli(['verify', artifactFile, '--bundle', edited], maestro.env);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('FAIL  signature       the signature does not match the envelope: it was changed after it was signed');
  });

  it('says there is no provenance for an unknown digest, and what is wrong with an argument that is neither', async () => {
    const unknown = sha256('unknown');
    const missing = await cli(['verify', `sha256:${unknown}`], maestro.env);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toContain(`FAIL  attestation  no provenance attestation for sha256:${unknown}`);
    const usage = await cli(['verify', 'nope.tar.gz'], maestro.env);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('"nope.tar.gz" is neither an artifact digest (64 lowercase hex, optionally sha256:) nor a file here');
  });
});

describe('maestro up with a master key that does not open the signing key', () => {
  it('refuses to start, says what to set, and leaves the key and the master key file as they were', async () => {
    const first = await startTestMaestro();
    const dataDir = first.dataDir;
    const keyBefore = (await api<{ keys: Array<{ id: string }> }>(first, 'GET', '/v1/keys')).json.keys;
    await first.stop({ stopApps: true });
    const wrong = Buffer.alloc(32, 7);
    await writeFile(masterKeyPath(dataDir), wrong);
    try {
      const refused = await startTestMaestro({ dataDir }).then(
        () => new Error('started'),
        (error: unknown) => error as Error,
      );
      expect(refused.message).toContain(`the master key does not open the signing key ${keyBefore[0]!.id.slice(0, 16)}`);
      expect(refused.message).toContain('set MAESTRO_MASTER_KEY to the key this data directory was created with');
      expect((await readFile(masterKeyPath(dataDir))).equals(wrong)).toBe(true);
      const store = await openStore({ dataDir });
      try {
        expect((await store.signingKeys.list()).map((k) => k.id)).toEqual(keyBefore.map((k) => k.id));
      } finally {
        await store.close();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
