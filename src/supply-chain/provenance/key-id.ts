import { createHash, type KeyObject } from 'node:crypto';

/** A key's id: sha256 of its DER (SPKI) encoding, hex. Bundles carry it as `verificationMaterial.publicKey.hint`. */
export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex');
}
