import { bundleToJSON, type SerializedBundle } from '@sigstore/bundle';
import { DSSEBundleBuilder } from '@sigstore/sign';
import { IN_TOTO_PAYLOAD_TYPE } from './constants.js';
import type { SigningKey } from './signing-key.js';
import type { Statement } from './statement.js';

/**
 * Signs the statement into a DSSE envelope packed as a Sigstore bundle v0.3 (JSON form) that names
 * the key by its hint. No witnesses: nothing goes to Rekor or a timestamp authority, nothing leaves
 * the machine, so verifiers skip the transparency log (`--insecure-ignore-tlog` in cosign).
 */
export async function signStatement(key: SigningKey, statement: Statement): Promise<SerializedBundle> {
  const builder = new DSSEBundleBuilder({
    signer: {
      sign: async (data) => ({ signature: key.sign(data), key: { $case: 'publicKey', publicKey: key.publicKeyPem, hint: key.id } }),
    },
    witnesses: [],
  });
  const bundle = await builder.create({ data: Buffer.from(JSON.stringify(statement), 'utf8'), type: IN_TOTO_PAYLOAD_TYPE });
  return bundleToJSON(bundle);
}
