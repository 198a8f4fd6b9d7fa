/**
 * Envelope encryption: a random data key per project (and one per organisation) is wrapped under the
 * master key; each secret value is sealed under its data key, bound to the secret's scope, name and
 * version. Rotating the master key re-wraps the data keys and leaves every value as it is.
 */
import { randomBytes } from 'node:crypto';
import { MaestroError } from '../common/index.js';
import { seal, unseal } from './seal.js';

const DATA_KEY_BYTES = 32;

/** Sealed under a master key that opens it: this value, so a wrong key is known before anything is read with it. */
const CHECK_PLAINTEXT = Buffer.from('maestro master key check v1', 'utf8');
const CHECK_BINDING = 'maestro:master-key-check';

export interface DataKeyScope {
  organisationId: string;
  /** Absent: the organisation's data key. */
  projectId?: string;
}

export interface SecretIdentity extends DataKeyScope {
  environmentId?: string;
  name: string;
  version: number;
}

export function newDataKey(): Buffer {
  return randomBytes(DATA_KEY_BYTES);
}

function dataKeyBinding(scope: DataKeyScope): string {
  return `maestro:data-key:${scope.organisationId}/${scope.projectId ?? '*'}`;
}

/** What a sealed value is bound to: moved to another secret, scope or version, it does not open. */
export function secretBinding(identity: SecretIdentity): string {
  return `maestro:secret:${identity.organisationId}/${identity.projectId ?? '*'}/${identity.environmentId ?? '*'}/${identity.name}@${identity.version}`;
}

export function wrapDataKey(master: Buffer, dataKey: Buffer, scope: DataKeyScope): string {
  return seal(master, dataKey, dataKeyBinding(scope));
}

/** The data key, or undefined when this master key does not open it. */
export function unwrapDataKey(master: Buffer, wrapped: string, scope: DataKeyScope): Buffer | undefined {
  return unseal(master, wrapped, dataKeyBinding(scope));
}

export function sealValue(dataKey: Buffer, value: string, identity: SecretIdentity): string {
  return seal(dataKey, Buffer.from(value, 'utf8'), secretBinding(identity));
}

export function openValue(dataKey: Buffer, sealed: string, identity: SecretIdentity): string {
  const plain = unseal(dataKey, sealed, secretBinding(identity));
  if (!plain) {
    throw new MaestroError(
      'internal',
      `the stored value of secret ${identity.name} (version ${identity.version}) does not open with its data key: the row was altered or moved; set the secret again`,
    );
  }
  return plain.toString('utf8');
}

export function sealCheck(master: Buffer): string {
  return seal(master, CHECK_PLAINTEXT, CHECK_BINDING);
}

/** Whether `master` is the key the check was sealed under. */
export function opensCheck(master: Buffer, sealed: string): boolean {
  return unseal(master, sealed, CHECK_BINDING)?.equals(CHECK_PLAINTEXT) === true;
}
