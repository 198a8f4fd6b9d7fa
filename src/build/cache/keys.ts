/**
 * Cache keys. A key is the sha256 of a canonical JSON document (object keys sorted, lists sorted
 * where their order means nothing), prefixed with what kind of key it is and a format version, so
 * the same inputs give the same key on any machine and any change to an input gives another key.
 */
import { createHash } from 'node:crypto';
import { MaestroError } from '../../common/index.js';
import { isDigest } from '../cas.js';
import { normalizeEntryPath, printable } from '../tree-paths.js';

/** Bumped whenever what goes into a key changes meaning, so old entries are never served. */
const KEY_FORMAT = 'maestro-cache-key-v1';

export interface LockfileDigest {
  /** Path relative to the source root, `/`-separated. */
  path: string;
  /** sha256 (hex) of the lockfile's bytes. */
  sha256: string;
}

export interface DependencyKeyInput {
  lockfiles: readonly LockfileDigest[];
  /** The install command as written in maestro.yml ("" or undefined when there is none). */
  installCommand: string | undefined;
  /** Tool name -> version as the tool reports it, e.g. { node: 'v20.20.2', npm: '11.1.0' }. */
  toolchain: Readonly<Record<string, string>>;
  /** `${process.platform}-${process.arch}`: native modules built for one do not run on another. */
  platform: string;
  /** The service's folder inside the source ("." or e.g. "apps/web"). */
  servicePath: string;
  /** Variables the install step sees (NODE_ENV=production makes npm skip devDependencies). */
  env?: Readonly<Record<string, string>>;
}

export interface BuildOutputKeyInput {
  /** From `serviceInputsDigest`: the service's files and the workspace packages it uses. */
  inputsDigest: string;
  dependencyKey: string;
  buildCommand: string | undefined;
  /** Variables the build step sees; a build may bake any of them into its output. */
  env: Readonly<Record<string, string>>;
}

/** This machine's platform as keys spell it. */
export function currentPlatform(): string {
  return `${process.platform}-${process.arch}`;
}

export function dependencyKey(input: DependencyKeyInput): string {
  return keyOf('dependencies', {
    lockfiles: canonicalLockfiles(input.lockfiles),
    installCommand: text(input.installCommand ?? '', 'install command'),
    toolchain: stringRecord(input.toolchain, 'toolchain'),
    platform: nonEmpty(input.platform, 'platform'),
    servicePath: normalizeEntryPath(text(input.servicePath, 'service path'), 'service path'),
    env: stringRecord(input.env ?? {}, 'env'),
  });
}

export function buildOutputKey(input: BuildOutputKeyInput): string {
  return keyOf('output', {
    inputsDigest: digest(input.inputsDigest, 'inputs digest'),
    dependencyKey: digest(input.dependencyKey, 'dependency key'),
    buildCommand: text(input.buildCommand ?? '', 'build command'),
    env: stringRecord(input.env, 'env'),
  });
}

function keyOf(kind: string, document: Record<string, unknown>): string {
  return createHash('sha256').update(`${KEY_FORMAT}\0${kind}\0`).update(canonicalJson(document)).digest('hex');
}

/** JSON with object keys in code-unit order: one text for one value. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value).sort(compareText);
    return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Sorted by path; the same lockfile listed twice counts once, the same path with two digests is a mistake. */
function canonicalLockfiles(lockfiles: readonly LockfileDigest[]): Array<[string, string]> {
  if (!Array.isArray(lockfiles)) throw invalid('lockfiles must be a list of { path, sha256 }');
  const byPath = new Map<string, string>();
  for (const lockfile of lockfiles) {
    const path = normalizeEntryPath(text(lockfile?.path, 'lockfile path'), 'lockfile path');
    const sha = digest(lockfile.sha256, `sha256 of lockfile "${printable(path)}"`);
    const known = byPath.get(path);
    if (known !== undefined && known !== sha) throw invalid(`lockfile "${printable(path)}" is listed twice with different digests`);
    byPath.set(path, sha);
  }
  return [...byPath.entries()].sort(([a], [b]) => compareText(a, b));
}

function stringRecord(record: Readonly<Record<string, string>>, what: string): Record<string, string> {
  if (record === null || typeof record !== 'object' || Array.isArray(record)) throw invalid(`${what} must be an object of names to strings`);
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(record)) out[name] = text(value, `${what} value of "${printable(name)}"`);
  return out;
}

function text(value: unknown, what: string): string {
  if (typeof value !== 'string') throw invalid(`${what} must be a string (got ${value === null ? 'null' : typeof value})`);
  return value;
}

function nonEmpty(value: unknown, what: string): string {
  const checked = text(value, what);
  if (checked === '') throw invalid(`${what} must not be empty`);
  return checked;
}

function digest(value: unknown, what: string): string {
  const checked = text(value, what);
  if (!isDigest(checked)) throw invalid(`${what} must be a sha256 digest (64 lowercase hex characters), got "${printable(checked.slice(0, 80))}"`);
  return checked;
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function invalid(message: string): MaestroError {
  return new MaestroError('validation_error', `cache key: ${message}`);
}
