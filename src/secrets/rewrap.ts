/**
 * Moving everything sealed under the master key to another master key, in one transaction: the data
 * keys (the values under them do not change), the signing keys' private halves and the check value.
 * Either all of it is under the new key or none of it is.
 */
import { MaestroError } from '../common/index.js';
import type { Store } from '../store/index.js';
import { resealSigningKey } from '../supply-chain/provenance/signing-key.js';
import { opensCheck, sealCheck, unwrapDataKey, wrapDataKey } from './envelope.js';
import { masterKeyId } from './master-key.js';

export interface RewrapReport {
  dataKeys: number;
  signingKeys: number;
  keyId: string;
}

export async function rewrapAll(store: Store, from: Buffer, to: Buffer): Promise<RewrapReport> {
  return store.transaction(async (tx) => {
    // Taken first and held to the commit: data keys made meanwhile wait for it (see SecretVault.dataKeyFor).
    const check = await tx.secrets.masterCheck({ lock: 'update' });
    if (check && !opensCheck(from, check.checkSealed)) {
      throw new MaestroError('conflict', 'the master key was rotated meanwhile by another control plane; nothing was changed');
    }
    const dataKeys = await tx.secrets.allDataKeys();
    for (const record of dataKeys) {
      const scope = { organisationId: record.organisationId, ...(record.projectId ? { projectId: record.projectId } : {}) };
      const key = unwrapDataKey(from, record.wrappedKey, scope);
      if (!key) throw new MaestroError('internal', `data key ${record.id} does not open with the current master key; nothing was changed`);
      await tx.secrets.rewrapDataKey(record.id, wrapDataKey(to, key, scope));
    }
    const signingKeys = await tx.signingKeys.listSealed();
    for (const stored of signingKeys) {
      const resealed = resealSigningKey(stored, from, to);
      if (!resealed) throw new MaestroError('internal', `signing key ${stored.id.slice(0, 16)} does not open with the current master key; nothing was changed`);
      await tx.signingKeys.reseal(stored.id, resealed);
    }
    const keyId = masterKeyId(to);
    if (check) await tx.secrets.replaceMasterCheck({ keyId, checkSealed: sealCheck(to) });
    else await tx.secrets.createMasterCheck({ keyId, checkSealed: sealCheck(to) });
    return { dataKeys: dataKeys.length, signingKeys: signingKeys.length, keyId };
  });
}
