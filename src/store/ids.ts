import { randomBytes } from 'node:crypto';

export type IdPrefix = 'prj' | 'svc' | 'env' | 'dep' | 'bld' | 'rev' | 'rel' | 'tok' | 'job' | 'whk' | 'dlv' | 'pvw' | 'cst' | 'org' | 'usr' | 'mbr' | 'ses' | 'sec' | 'dky';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

/** `dep_k3q7x2m4ba9z`: a readable prefix and 12 base32 characters (60 random bits). */
export function newId(prefix: IdPrefix): string {
  const bytes = randomBytes(8);
  let bits = bytes.readBigUInt64BE();
  let text = '';
  for (let i = 0; i < 12; i += 1) {
    text += ALPHABET[Number(bits & 31n)];
    bits >>= 5n;
  }
  return `${prefix}_${text}`;
}
