/**
 * Reading a signed payload back: an in-toto Statement v1, and what a verifier asks of a SLSA
 * provenance predicate. The payload is untrusted input (it may be anyone's), so nothing here throws:
 * every shape it does not expect is a problem in words.
 */
import { IN_TOTO_STATEMENT_V1, SOURCE_ARCHIVE_NAME } from './constants.js';
import type { DigestSet, Statement } from './statement.js';

export type ParsedStatement = { ok: true; statement: Statement } | { ok: false; problem: string };

export function parseStatement(payload: Uint8Array | string): ParsedStatement {
  let value: unknown;
  try {
    value = JSON.parse(typeof payload === 'string' ? payload : Buffer.from(payload).toString('utf8'));
  } catch {
    return { ok: false, problem: 'the payload is not JSON' };
  }
  if (!isObject(value)) return { ok: false, problem: 'the payload is not a JSON object' };
  if (value._type !== IN_TOTO_STATEMENT_V1) {
    return { ok: false, problem: `the payload is not an in-toto Statement v1 (_type ${describe(value._type)}, expected ${IN_TOTO_STATEMENT_V1})` };
  }
  const { subject, predicateType, predicate } = value;
  if (!Array.isArray(subject) || subject.length === 0) return { ok: false, problem: 'the statement has no subject' };
  for (const [index, entry] of subject.entries()) {
    if (!isObject(entry) || !isDigestSet(entry.digest) || (entry.name !== undefined && typeof entry.name !== 'string')) {
      return { ok: false, problem: `subject ${index + 1} is not a name with a digest set` };
    }
  }
  if (typeof predicateType !== 'string' || predicateType === '') return { ok: false, problem: 'the statement has no predicateType' };
  if (predicate !== undefined && !isObject(predicate)) return { ok: false, problem: 'the statement\'s predicate is not an object' };
  return { ok: true, statement: value as unknown as Statement };
}

/** What verification compares in a provenance predicate; absent where the predicate does not say. */
export interface ProvenanceSummary {
  builderId?: string;
  buildId?: string;
  repository?: string;
  ref?: string;
  /** The git commit, from externalParameters or a resolved dependency's `gitCommit`. */
  commits: string[];
  /** sha256 of the source archive (the resolved dependency named `source`). */
  sourceDigest?: string;
}

export function summarizeProvenance(predicate: unknown): ProvenanceSummary {
  const root = isObject(predicate) ? predicate : {};
  const definition = objectAt(root, 'buildDefinition');
  const external = objectAt(definition, 'externalParameters');
  const runDetails = objectAt(root, 'runDetails');
  const dependencies = Array.isArray(definition.resolvedDependencies) ? definition.resolvedDependencies.filter(isObject) : [];
  const commits = new Set<string>();
  const declared = textAt(external, 'commit');
  if (declared) commits.add(declared);
  for (const dependency of dependencies) {
    const digest = objectAt(dependency, 'digest');
    const commit = textAt(digest, 'gitCommit');
    if (commit) commits.add(commit);
  }
  const archive = dependencies.find((dependency) => dependency.name === SOURCE_ARCHIVE_NAME);
  const summary: ProvenanceSummary = { commits: [...commits] };
  const builderId = textAt(objectAt(runDetails, 'builder'), 'id');
  const buildId = textAt(objectAt(runDetails, 'metadata'), 'invocationId');
  const repository = textAt(external, 'repository');
  const ref = textAt(external, 'ref');
  const sourceDigest = archive ? textAt(objectAt(archive, 'digest'), 'sha256') : undefined;
  if (builderId) summary.builderId = builderId;
  if (buildId) summary.buildId = buildId;
  if (repository) summary.repository = repository;
  if (ref) summary.ref = ref;
  if (sourceDigest) summary.sourceDigest = sourceDigest;
  return summary;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isDigestSet(value: unknown): value is DigestSet {
  return isObject(value) && Object.keys(value).length > 0 && Object.values(value).every((entry) => typeof entry === 'string');
}

function objectAt(parent: Record<string, unknown>, key: string): Record<string, unknown> {
  const value = Object.hasOwn(parent, key) ? parent[key] : undefined;
  return isObject(value) ? value : {};
}

function textAt(parent: Record<string, unknown>, key: string): string | undefined {
  const value = Object.hasOwn(parent, key) ? parent[key] : undefined;
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function describe(value: unknown): string {
  return value === undefined ? 'missing' : JSON.stringify(value)?.slice(0, 80) ?? String(value);
}
