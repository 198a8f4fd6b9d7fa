/**
 * Verifying one Sigstore bundle against one artifact digest and one trusted key. @sigstore/verify
 * checks the signature (with no transparency log, certificate log or timestamp required, as nothing
 * was sent to one); the rest it does not do for DSSE and is done here: the statement is about these
 * bytes, it is the expected kind, and the provenance names the expected builder and source.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { bundleFromJSON, type Bundle } from '@sigstore/bundle';
import { Verifier, toSignedEntity, toTrustMaterial, type TrustMaterial } from '@sigstore/verify';
import { errorMessage } from '../../common/index.js';
import { IN_TOTO_PAYLOAD_TYPE, MAESTRO_BUILDER_ID, SIGSTORE_BUNDLE_V03, SLSA_PROVENANCE_V1 } from './constants.js';
import { keyIdOf } from './key-id.js';
import { parseStatement, summarizeProvenance, type ProvenanceSummary } from './parse-statement.js';
import type { Statement } from './statement.js';

export interface VerificationCheck {
  /** `attestation`, `bundle`, `key`, `signature`, `statement`, `predicate type`, `subject`, `builder`, `source`. */
  name: string;
  ok: boolean;
  /** What was found, or what is wrong, in words. */
  detail: string;
}

export interface VerificationResult {
  /** True only when every check passed. */
  ok: boolean;
  checks: VerificationCheck[];
}

/** What the artifact's evidence must say. */
export interface Expectations {
  /** Default SLSA_PROVENANCE_V1. */
  predicateType?: string;
  /** Provenance only; default MAESTRO_BUILDER_ID. */
  builderId?: string;
  /** Provenance only: the commit, and/or the source archive's sha256, the build must have used. Unchecked (and said so) when absent. */
  source?: { commit?: string; digest?: string };
}

export interface VerifyBundleInput {
  /** The bundle's JSON form (parsed), as stored and served. */
  bundle: unknown;
  /** sha256 hex of the artifact's bytes, computed by the caller from the bytes themselves. */
  artifactDigest: string;
  /** The key to trust, PEM (SPKI). */
  publicKeyPem: string;
  expect?: Expectations;
}

export function verifyBundle(input: VerifyBundleInput): VerificationResult {
  const checks: VerificationCheck[] = [];
  const add = (name: string, ok: boolean, detail: string): void => {
    checks.push({ name, ok, detail });
  };
  const done = (): VerificationResult => ({ ok: checks.every((check) => check.ok), checks });

  const bundle = readBundle(input.bundle);
  if (typeof bundle === 'string') {
    add('bundle', false, bundle);
    return done();
  }
  add('bundle', true, `Sigstore bundle v0.3 with a DSSE envelope`);

  let key: KeyObject;
  try {
    key = createPublicKey(input.publicKeyPem);
  } catch (error) {
    add('key', false, `the trusted key is not a PEM public key: ${errorMessage(error)}`);
    return done();
  }
  const keyId = keyIdOf(key);
  const hint = bundle.verificationMaterial.content.$case === 'publicKey' ? bundle.verificationMaterial.content.publicKey.hint : '';
  const signature = checkSignature(bundle, key);
  if (signature === undefined) add('signature', true, `signed by key ${keyId}`);
  else if (hint !== keyId) add('signature', false, `signature made by another key: the bundle names key ${hint || '(none)'}, the trusted key is ${keyId}`);
  else add('signature', false, `the signature does not match the envelope: it was changed after it was signed (${signature})`);

  const envelope = bundle.content.dsseEnvelope;
  if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) {
    add('statement', false, `the envelope carries ${JSON.stringify(envelope.payloadType)}, not an in-toto statement (${IN_TOTO_PAYLOAD_TYPE})`);
    return done();
  }
  const parsed = parseStatement(envelope.payload);
  if (!parsed.ok) {
    add('statement', false, parsed.problem);
    return done();
  }
  add('statement', true, 'in-toto Statement v1');
  const statement = parsed.statement;

  const expectedType = input.expect?.predicateType ?? SLSA_PROVENANCE_V1;
  if (statement.predicateType === expectedType) add('predicate type', true, statement.predicateType);
  else add('predicate type', false, `predicate type ${statement.predicateType} is not the expected ${expectedType}`);

  checkSubject(statement, input.artifactDigest, add);
  if (expectedType === SLSA_PROVENANCE_V1 && statement.predicateType === SLSA_PROVENANCE_V1) {
    const provenance = summarizeProvenance(statement.predicate);
    const builderId = input.expect?.builderId ?? MAESTRO_BUILDER_ID;
    if (provenance.builderId === builderId) add('builder', true, builderId);
    else add('builder', false, `built by ${provenance.builderId ?? '(no builder id)'}, expected ${builderId}`);
    checkSource(provenance, input.expect?.source, add);
  }
  return done();
}

/** The bundle, or what is wrong with it. */
function readBundle(json: unknown): Bundle & { content: { $case: 'dsseEnvelope' } } | string {
  let bundle: Bundle;
  try {
    bundle = bundleFromJSON(json);
  } catch (error) {
    return `not a Sigstore bundle: ${errorMessage(error)}`;
  }
  if (bundle.mediaType !== SIGSTORE_BUNDLE_V03) return `the bundle is ${bundle.mediaType}, expected ${SIGSTORE_BUNDLE_V03}`;
  if (bundle.content.$case !== 'dsseEnvelope') return 'the bundle carries a message signature, not a DSSE envelope with an attestation';
  return bundle as Bundle & { content: { $case: 'dsseEnvelope' } };
}

/** Undefined when the signature holds; otherwise the verifier's reason. */
function checkSignature(bundle: Bundle, key: KeyObject): string | undefined {
  // Whatever key the bundle names, the one the caller trusts is the one tried: a pinned key must not be swapped by a hint.
  const trust: TrustMaterial = toTrustMaterial(
    { mediaType: '', certificateAuthorities: [], tlogs: [], ctlogs: [], timestampAuthorities: [] },
    () => ({ publicKey: key, validFor: () => true }),
  );
  try {
    new Verifier(trust, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 }).verify(toSignedEntity(bundle));
    return undefined;
  } catch (error) {
    return errorMessage(error);
  }
}

function checkSubject(statement: Statement, artifactDigest: string, add: (name: string, ok: boolean, detail: string) => void): void {
  const digests = statement.subject.map((subject) => subject.digest.sha256).filter((digest): digest is string => typeof digest === 'string');
  if (digests.includes(artifactDigest)) {
    add('subject', true, `sha256:${artifactDigest} matches the artifact`);
  } else if (digests.length === 0) {
    add('subject', false, `the statement names no sha256 subject, so it cannot be about the artifact sha256:${artifactDigest}`);
  } else {
    add('subject', false, `subject digest ${digests.map((digest) => `sha256:${digest}`).join(', ')} does not match the artifact sha256:${artifactDigest}`);
  }
}

function checkSource(
  provenance: ProvenanceSummary,
  expected: Expectations['source'],
  add: (name: string, ok: boolean, detail: string) => void,
): void {
  const found = [
    ...provenance.commits.map((commit) => `commit ${commit}`),
    ...(provenance.sourceDigest ? [`source sha256:${provenance.sourceDigest}`] : []),
  ].join(', ');
  const problems: string[] = [];
  if (expected?.commit !== undefined && !provenance.commits.includes(expected.commit)) {
    problems.push(`expected commit ${expected.commit}`);
  }
  if (expected?.digest !== undefined && provenance.sourceDigest !== expected.digest) {
    problems.push(`expected source sha256:${expected.digest}`);
  }
  if (problems.length > 0) add('source', false, `built from ${found || 'an unnamed source'}; ${problems.join(' and ')}`);
  else if (expected?.commit !== undefined || expected?.digest !== undefined) add('source', true, found);
  else add('source', true, `${found || 'no source named'} (not compared: no expected source given)`);
}
