import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { InvalidArgumentError, type Command } from 'commander';
import { request } from 'undici';
import { MaestroError, errorMessage } from '../../common/index.js';
import { isDigest } from '../../build/index.js';
import {
  CYCLONEDX_BOM,
  MAESTRO_BUILDER_ID,
  SLSA_PROVENANCE_V1,
  describeType,
  sha256Of,
  verifyBundle,
  type Expectations,
  type VerificationCheck,
} from '../../supply-chain/provenance/index.js';
import { ApiClient } from '../api-client.js';
import { resolveCredentials, type Credentials } from '../credentials.js';
import { createOutput } from '../output.js';

interface VerifyOptions {
  key?: string;
  bundle?: string;
  type: string;
  builderId: string;
  commit?: string;
  sourceDigest?: string;
  json?: boolean;
}

interface AttestationView {
  id: string;
  buildId: string | null;
  predicateType: string;
  keyId: string;
  createdAt: string;
  bundle: unknown;
}

interface KeyView {
  id: string;
  publicKeyPem: string;
}

export type VerifyTarget = { kind: 'digest'; digest: string } | { kind: 'file'; path: string };

/** A digest (with or without `sha256:`) that is not also a file here, else a file; anything else is a usage error. */
export function parseTarget(value: string, fileExists: (path: string) => boolean = existsSync): VerifyTarget {
  const bare = value.startsWith('sha256:') ? value.slice('sha256:'.length) : value;
  if (isDigest(bare) && !fileExists(value)) return { kind: 'digest', digest: bare };
  if (fileExists(value)) return { kind: 'file', path: value };
  throw new InvalidArgumentError(`"${value.slice(0, 100)}" is neither an artifact digest (64 lowercase hex, optionally sha256:) nor a file here`);
}

/** `provenance`, `sbom`, or a predicate type URI. */
export function parsePredicateType(value: string): string {
  if (value === 'provenance' || value === 'slsa') return SLSA_PROVENANCE_V1;
  if (value === 'sbom' || value === 'cyclonedx') return CYCLONEDX_BOM;
  if (/^[a-z][a-z0-9+.-]*:\S+$/i.test(value)) return value;
  throw new InvalidArgumentError(`--type takes provenance, sbom or a predicate type URI, got "${value.slice(0, 100)}"`);
}

export function describeChecks(checks: readonly VerificationCheck[]): string[] {
  const width = Math.max(...checks.map((check) => check.name.length));
  const lines = checks.map((check) => `${check.ok ? 'ok  ' : 'FAIL'}  ${check.name.padEnd(width)}  ${check.detail}`);
  const failures = checks.filter((check) => !check.ok).length;
  lines.push(failures === 0 ? 'verified' : `NOT verified: ${failures} of ${checks.length} checks failed`);
  return lines;
}

export function verifyCommand(program: Command): void {
  program
    .command('verify')
    .description("Check an artifact against its signed provenance: the server's key (or one you pin), the artifact's own bytes, builder and source")
    .argument('<artifact>', 'an artifact digest (sha256) on the server, or an artifact file')
    .option('--key <file>', "trust this public key (PEM) instead of the server's (GET /v1/keys)")
    .option('--bundle <file>', "verify this Sigstore bundle instead of the server's attestation")
    .option('--type <type>', 'provenance, sbom, or a predicate type URI', 'provenance')
    .option('--builder-id <uri>', 'the builder the provenance must name', MAESTRO_BUILDER_ID)
    .option('--commit <sha>', 'the git commit the artifact must have been built from')
    .option('--source-digest <sha256>', 'the source archive the artifact must have been built from')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  maestro verify 3f9c...e1                                 # an artifact on the server, with its provenance and key',
        '  maestro verify hello-web.tar.gz --key maestro.pub --commit 3f2a1c9e8d7b6a5f4e3d2c1b0a9f8e7d6c5b4a39',
        '  maestro verify app.tar.gz --bundle app.sigstore.json --key maestro.pub   # offline: no server needed',
        '',
        'Exit status 1 when any check fails.',
        '',
      ].join('\n'),
    )
    .action(async (artifact: string, options: VerifyOptions) => {
      const out = createOutput(options);
      const target = parseTarget(artifact);
      const predicateType = parsePredicateType(options.type);
      const artifactDigest = target.kind === 'file' ? await sha256Of(target.path) : target.digest;
      const checks = await runChecks({ target, artifactDigest, options, expect: expectations(options, predicateType), server: lazyServer() });
      const ok = checks.every((check) => check.ok);
      out.result({ ok, artifact: artifactDigest, predicateType, checks }, () => [
        `artifact sha256:${artifactDigest}${target.kind === 'file' ? ` (${target.path})` : ''}`,
        ...describeChecks(checks),
      ]);
      process.exitCode = ok ? 0 : 1;
    });
}

function expectations(options: VerifyOptions, predicateType: string): Expectations {
  const source = { ...(options.commit ? { commit: options.commit } : {}), ...(options.sourceDigest ? { digest: options.sourceDigest } : {}) };
  return { predicateType, builderId: options.builderId, ...(Object.keys(source).length > 0 ? { source } : {}) };
}

interface Server {
  credentials: Credentials;
  client: ApiClient;
}

/** Credentials are looked for only once the server is needed: a file, its bundle and a pinned key verify offline. */
function lazyServer(): () => Server {
  let server: Server | undefined;
  return () => {
    if (!server) {
      const credentials = resolveCredentials();
      server = { credentials, client: new ApiClient(credentials) };
    }
    return server;
  };
}

interface RunChecksInput {
  target: VerifyTarget;
  artifactDigest: string;
  options: VerifyOptions;
  expect: Expectations;
  server: () => Server;
}

/** The bundle (given, or the server's attestation), the key (pinned, or the server's), the artifact's bytes, then the bundle's checks. */
async function runChecks(input: RunChecksInput): Promise<VerificationCheck[]> {
  const evidence = await findBundle(input);
  if (!evidence.check.ok || evidence.bundle === undefined) return [evidence.check];
  const key = await findKey(input, evidence.keyId);
  if (!key.check.ok || key.publicKeyPem === undefined) return [evidence.check, key.check];
  // A digest's bytes come from the server and are hashed as they arrive: the server's word for the digest is not taken.
  const actualDigest = input.target.kind === 'file' ? input.artifactDigest : await downloadDigest(input.server().credentials, input.artifactDigest);
  const result = verifyBundle({ bundle: evidence.bundle, artifactDigest: actualDigest, publicKeyPem: key.publicKeyPem, expect: input.expect });
  return [evidence.check, key.check, ...result.checks];
}

async function findBundle(input: RunChecksInput): Promise<{ check: VerificationCheck; bundle?: unknown; keyId?: string }> {
  if (input.options.bundle) {
    const bundle = await readJson(input.options.bundle, '--bundle');
    return { check: { name: 'attestation', ok: true, detail: `from ${input.options.bundle}` }, bundle, ...withKeyId(hintOf(bundle)) };
  }
  const predicateType = input.expect.predicateType!;
  const { attestations } = await input
    .server()
    .client.call<{ attestations: AttestationView[] }>('GET', `/v1/artifacts/${input.artifactDigest}/attestations?${new URLSearchParams({ predicateType })}`);
  const attestation = attestations[0];
  if (!attestation) {
    return { check: { name: 'attestation', ok: false, detail: `no ${describeType(predicateType)} attestation for sha256:${input.artifactDigest}` } };
  }
  const detail = `${attestation.id}${attestation.buildId ? ` of build ${attestation.buildId}` : ''}, made ${attestation.createdAt}`;
  return { check: { name: 'attestation', ok: true, detail }, bundle: attestation.bundle, keyId: attestation.keyId };
}

async function findKey(input: RunChecksInput, keyId: string | undefined): Promise<{ check: VerificationCheck; publicKeyPem?: string }> {
  const pinned = input.options.key;
  if (pinned) {
    const publicKeyPem = await readFile(pinned, 'utf8').catch((error: unknown) => {
      throw new MaestroError('validation_error', `cannot read --key ${pinned}: ${errorMessage(error)}`);
    });
    return { check: { name: 'key', ok: true, detail: `pinned: ${pinned}` }, publicKeyPem };
  }
  const { keys } = await input.server().client.call<{ keys: KeyView[] }>('GET', '/v1/keys');
  const key = keys.find((candidate) => candidate.id === keyId);
  if (!key) {
    return { check: { name: 'key', ok: false, detail: `signature made by another key: ${keyId || '(no key named)'} is not one of the server's keys` } };
  }
  return { check: { name: 'key', ok: true, detail: `the server's key ${key.id}` }, publicKeyPem: key.publicKeyPem };
}

const withKeyId = (keyId: string | undefined): { keyId?: string } => (keyId === undefined ? {} : { keyId });

async function readJson(path: string, flag: string): Promise<unknown> {
  const text = await readFile(path, 'utf8').catch((error: unknown) => {
    throw new MaestroError('validation_error', `cannot read ${flag} ${path}: ${errorMessage(error)}`);
  });
  try {
    return JSON.parse(text);
  } catch {
    throw new MaestroError('validation_error', `${flag} ${path} is not JSON; it should be a Sigstore bundle (.sigstore.json)`);
  }
}

function hintOf(bundle: unknown): string | undefined {
  const hint = (bundle as { verificationMaterial?: { publicKey?: { hint?: unknown } } } | null)?.verificationMaterial?.publicKey?.hint;
  return typeof hint === 'string' ? hint : undefined;
}

/** The sha256 of the artifact's bytes as the server sends them, hashed as they arrive (nothing is kept). */
async function downloadDigest(credentials: Credentials, digest: string): Promise<string> {
  const response = await request(`${credentials.url}/v1/artifacts/${digest}`, { headers: { authorization: `Bearer ${credentials.token}` } });
  if (response.statusCode !== 200) {
    const text = await response.body.text();
    let message = `the server answered ${response.statusCode} for the artifact`;
    try {
      message = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? message;
    } catch {
      // not JSON: keep the status
    }
    throw new MaestroError(response.statusCode === 404 ? 'not_found' : 'unavailable', message);
  }
  return sha256Of(response.body);
}
