/**
 * Opening the master key at start, checked against the value sealed under it before anything else
 * reads or writes with it. A key that is not the installation's stops the start and changes nothing;
 * the first start makes the key (the file) and the check.
 */
import { MaestroError } from '../common/index.js';
import type { Store } from '../store/index.js';
import { opensSigningKey } from '../supply-chain/provenance/signing-key.js';
import { opensCheck, sealCheck } from './envelope.js';
import {
  MASTER_KEY_ENV,
  createMasterKeyFile,
  forgetPreviousMasterKey,
  masterKeyId,
  masterKeyPath,
  readMasterKey,
  readPreviousMasterKey,
  type MasterKey,
} from './master-key.js';
import { rewrapAll } from './rewrap.js';

export interface OpenMasterKeyOptions {
  store: Store;
  dataDir: string;
  /** Where MAESTRO_MASTER_KEY is read from; this process's environment by default. */
  env?: NodeJS.ProcessEnv;
  /** Told about a rotation that was finished at this start. */
  onRecovered?: (message: string) => void;
}

export async function openMasterKey(options: OpenMasterKeyOptions): Promise<MasterKey> {
  const { store, dataDir } = options;
  const env = options.env ?? process.env;
  const key = await readMasterKey(dataDir, env);
  const check = await store.secrets.masterCheck();

  if (!check) {
    // The first start, or the first since secrets came (when a signing key may already be sealed).
    const signing = await store.signingKeys.active();
    if (signing && !key) throw missingKey(dataDir, `the signing key ${signing.id.slice(0, 16)} is`);
    if (signing && key && !opensSigningKey(signing, key.bytes)) throw wrongKey(key, `the signing key ${signing.id.slice(0, 16)}`);
    const master = key ?? (await createMasterKeyFile(dataDir));
    await store.secrets.createMasterCheck({ keyId: masterKeyId(master.bytes), checkSealed: sealCheck(master.bytes) });
    // Another start on the same database may have recorded its key first.
    const recorded = await store.secrets.masterCheck();
    if (!recorded || !opensCheck(master.bytes, recorded.checkSealed)) throw wrongKey(master, "this installation's secrets");
    return master;
  }

  if (key && opensCheck(key.bytes, check.checkSealed)) {
    // A rotation that committed but did not get to remove the old key's file.
    if (!key.fromEnv) await forgetPreviousMasterKey(dataDir);
    return key;
  }
  if (key && !key.fromEnv) {
    // A rotation that wrote the new key file but did not commit the re-wrap: finish it now.
    const previous = await readPreviousMasterKey(dataDir);
    if (previous && opensCheck(previous.bytes, check.checkSealed)) {
      const report = await rewrapAll(store, previous.bytes, key.bytes);
      await forgetPreviousMasterKey(dataDir);
      options.onRecovered?.(
        `finished an interrupted master key rotation: ${report.dataKeys} data keys and ${report.signingKeys} signing keys are now wrapped under ${key.origin}`,
      );
      return key;
    }
  }
  if (!key) throw missingKey(dataDir, "this installation's secrets and signing key are");
  throw wrongKey(key, "this installation's secrets or the signing key", check.rotatedAt);
}

/** `whatIs`: "the signing key ... is", "... are". */
function missingKey(dataDir: string, whatIs: string): MaestroError {
  return new MaestroError(
    'unavailable',
    `${whatIs} sealed with a master key that is not here (no ${MASTER_KEY_ENV}, no ${masterKeyPath(dataDir)}); ` +
      `set ${MASTER_KEY_ENV} to the key this data directory was created with, or restore that file. Nothing was changed`,
  );
}

function wrongKey(key: MasterKey, what: string, rotatedAt?: Date): MaestroError {
  const rotated = rotatedAt ? ` (the master key was last rotated at ${rotatedAt.toISOString()}; use the key made then)` : '';
  return new MaestroError(
    'unavailable',
    `the master key does not open ${what} (master key from ${key.origin})${rotated}; ` +
      `set ${MASTER_KEY_ENV} to the key this data directory was created with, or restore ${key.fromEnv ? 'the key file' : 'that file'}. Nothing was changed`,
  );
}
