/**
 * AES-256-GCM sealing, the one cipher of Maestro's stored secrets: data keys and the signing key's
 * private half under the master key, secret values under their data key. What a blob belongs to (a
 * key's id, a secret's scope, name and version) is bound in as associated data, so a sealed blob moved
 * onto another row does not open.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { MaestroError } from '../common/index.js';

const FORMAT = 'aes-256-gcm';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** `aes-256-gcm:<iv>:<tag>:<ciphertext>`, each part base64; a fresh random nonce every time. */
export function seal(masterKey: Buffer, plaintext: Buffer, boundTo: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv(FORMAT, masterKey, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(boundTo, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return [FORMAT, iv.toString('base64'), cipher.getAuthTag().toString('base64'), ciphertext.toString('base64')].join(':');
}

/** The plaintext, or undefined when this master key (or binding) does not open it. Malformed text is an error. */
export function unseal(masterKey: Buffer, sealed: string, boundTo: string): Buffer | undefined {
  const [format, ivText, tagText, ciphertext, ...rest] = sealed.split(':');
  const iv = Buffer.from(ivText ?? '', 'base64');
  const tag = Buffer.from(tagText ?? '', 'base64');
  if (format !== FORMAT || iv.length !== IV_BYTES || tag.length !== TAG_BYTES || ciphertext === undefined || rest.length > 0) {
    throw new MaestroError('internal', `a sealed value must look like ${FORMAT}:<iv>:<tag>:<ciphertext>; the stored one does not`);
  }
  const decipher = createDecipheriv(FORMAT, masterKey, iv, { authTagLength: TAG_BYTES });
  decipher.setAAD(Buffer.from(boundTo, 'utf8'));
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64')), decipher.final()]);
  } catch {
    return undefined;
  }
}
