/**
 * The server's signing key: ECDSA P-256, made at first start, its private half sealed under the master
 * key in `signing_keys`. Opening it never changes anything that exists: a master key that does not
 * open the stored key stops the start with what to do, rather than making a new key that would
 * orphan every attestation signed so far.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { MaestroError } from '../../common/index.js';
import type { SigningKeysRepository, SigningKeyWithSecret } from '../../store/index.js';
import { SIGNING_ALGORITHM } from './constants.js';
import { keyIdOf } from './key-id.js';
import { MASTER_KEY_ENV, createMasterKeyFile, masterKeyPath, readMasterKey, type MasterKey } from '../../secrets/master-key.js';
import { seal, unseal } from '../../secrets/seal.js';

export interface SigningKey {
  /** sha256 of the DER public key, hex: the bundles' key hint and `GET /v1/keys`'s id. */
  readonly id: string;
  readonly algorithm: string;
  /** PEM (SPKI): what `cosign verify-blob-attestation --key` and `maestro verify --key` take. */
  readonly publicKeyPem: string;
  /** ECDSA P-256 over the SHA-256 of `data`, DER-encoded as DSSE and Sigstore expect. */
  sign(data: Uint8Array): Buffer;
}

export interface OpenSigningKeyOptions {
  store: { signingKeys: SigningKeysRepository };
  /** The data directory; the master key file is `<dataDir>/keys/master.key`. */
  dataDir: string;
  /** Where MAESTRO_MASTER_KEY is read from; this process's environment by default. */
  env?: NodeJS.ProcessEnv;
  /** The master key, already opened and checked (`openMasterKey`); read from `env` or `dataDir` when absent. */
  masterKey?: MasterKey;
}

/** A signing key over a private key held in memory. The private key stays in this closure: the object prints and serialises without it. */
export function signingKeyFrom(privateKey: KeyObject): SigningKey {
  if (privateKey.type !== 'private' || privateKey.asymmetricKeyType !== 'ec' || privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new MaestroError('validation_error', 'a signing key must be an ECDSA P-256 private key');
  }
  const publicKey = createPublicKey(privateKey);
  return {
    id: keyIdOf(publicKey),
    algorithm: SIGNING_ALGORITHM,
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    sign: (data) => sign('sha256', data, privateKey),
  };
}

/** A fresh key that lives only in memory (tests, one-off signing). */
export function generateSigningKey(): SigningKey {
  return signingKeyFrom(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);
}

/**
 * Whether a master key opens a stored signing key: how the master key is checked on an installation
 * that had a signing key before secrets existed.
 */
export function opensSigningKey(stored: SigningKeyWithSecret, master: Buffer): boolean {
  return unseal(master, stored.privateKeySealed, stored.id) !== undefined;
}

/** A stored private half sealed again under another master key (a rotation); undefined when `from` does not open it. */
export function resealSigningKey(stored: Pick<SigningKeyWithSecret, 'id' | 'privateKeySealed'>, from: Buffer, to: Buffer): string | undefined {
  const der = unseal(from, stored.privateKeySealed, stored.id);
  return der && seal(to, der, stored.id);
}

/**
 * The active signing key: opened with the master key, or made (and the master key file with it) on
 * the first start. Concurrent first starts on one database agree on one key: the schema allows one
 * active key, and the loser opens the winner's.
 */
export async function openSigningKey(options: OpenSigningKeyOptions): Promise<SigningKey> {
  const env = options.env ?? process.env;
  const existing = await options.store.signingKeys.active();
  if (existing) return unsealKey(existing, options.masterKey ?? (await requireMasterKey(options.dataDir, env, existing)));

  const master = options.masterKey ?? (await readMasterKey(options.dataDir, env)) ?? (await createMasterKeyFile(options.dataDir));
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const key = signingKeyFrom(privateKey);
  const created = await options.store.signingKeys.createActive({
    id: key.id,
    algorithm: key.algorithm,
    publicKeyPem: key.publicKeyPem,
    privateKeySealed: seal(master.bytes, privateKey.export({ type: 'pkcs8', format: 'der' }), key.id),
  });
  if (created) return key;
  const winner = await options.store.signingKeys.active();
  if (!winner) throw new MaestroError('internal', 'another start made the signing key, yet there is no active key; start again');
  return unsealKey(winner, master);
}

async function requireMasterKey(dataDir: string, env: NodeJS.ProcessEnv, stored: SigningKeyWithSecret): Promise<MasterKey> {
  const master = await readMasterKey(dataDir, env);
  if (master) return master;
  throw new MaestroError(
    'unavailable',
    `the signing key ${stored.id.slice(0, 16)} was sealed with a master key that is not here (no ${MASTER_KEY_ENV}, no ${masterKeyPath(dataDir)}); ` +
      `set ${MASTER_KEY_ENV} to the key this data directory was created with, or restore that file`,
  );
}

function unsealKey(stored: SigningKeyWithSecret, master: MasterKey): SigningKey {
  const der = unseal(master.bytes, stored.privateKeySealed, stored.id);
  if (!der) {
    throw new MaestroError(
      'unavailable',
      `the master key does not open the signing key ${stored.id.slice(0, 16)} (master key from ${master.origin}); ` +
        `set ${MASTER_KEY_ENV} to the key this data directory was created with`,
    );
  }
  const key = signingKeyFrom(createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }));
  if (key.id !== stored.id) {
    throw new MaestroError('internal', `the signing key ${stored.id.slice(0, 16)} is damaged: its private half belongs to another public key`);
  }
  return key;
}
