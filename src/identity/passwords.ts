/**
 * Passwords are stored as scrypt hashes with their own salt and cost parameters:
 * `scrypt$<N>$<r>$<p>$<salt, base64url>$<hash, base64url>`. The parameters travel with the hash, so raising
 * them later leaves older hashes readable.
 */
import { randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { MaestroError } from '../common/index.js';

export interface ScryptParameters {
  N: number;
  r: number;
  p: number;
}

/** OWASP's scrypt floor is N=2^17 with r=8; 2^15 keeps a login near 100 ms on a small machine, and the throttle does the rest. */
export const DEFAULT_SCRYPT: ScryptParameters = { N: 2 ** 15, r: 8, p: 1 };
const KEY_LENGTH = 32;
const SALT_LENGTH = 16;
export const MIN_PASSWORD_LENGTH = 10;
/** scrypt reads all of it; a megabyte-long "password" should not cost the server more than a long one. */
export const MAX_PASSWORD_LENGTH = 1024;

function scrypt(password: string, salt: Buffer, parameters: ScryptParameters, keyLength: number): Promise<Buffer> {
  const options: ScryptOptions = { ...parameters, maxmem: 256 * parameters.N * parameters.r + 1024 * 1024 };
  return new Promise((resolve, reject) => scryptCallback(password, salt, keyLength, options, (error, key) => (error ? reject(error) : resolve(key))));
}

/** Says what to change when a new password is too short or too long. */
export function checkNewPassword(password: string): void {
  if (password.length < MIN_PASSWORD_LENGTH) {
    throw new MaestroError('validation_error', `the password is too short: use at least ${MIN_PASSWORD_LENGTH} characters (a few words are easy to remember)`, { field: 'password' });
  }
  if (password.length > MAX_PASSWORD_LENGTH) {
    throw new MaestroError('validation_error', `the password is too long: use at most ${MAX_PASSWORD_LENGTH} characters`, { field: 'password' });
  }
}

export async function hashPassword(password: string, parameters: ScryptParameters = DEFAULT_SCRYPT): Promise<string> {
  const salt = randomBytes(SALT_LENGTH);
  const hash = await scrypt(password, salt, parameters, KEY_LENGTH);
  return ['scrypt', parameters.N, parameters.r, parameters.p, salt.toString('base64url'), hash.toString('base64url')].join('$');
}

/** The parts of a stored hash, or undefined when it is not one this code wrote. */
export function parsePasswordHash(stored: string): { parameters: ScryptParameters; salt: Buffer; hash: Buffer } | undefined {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return undefined;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  // Bounds keep a tampered row from asking for gigabytes of memory.
  const sane = Number.isInteger(N) && N >= 2 && N <= 2 ** 20 && (N & (N - 1)) === 0 && Number.isInteger(r) && r >= 1 && r <= 32 && Number.isInteger(p) && p >= 1 && p <= 16;
  if (!sane) return undefined;
  const salt = Buffer.from(parts[4]!, 'base64url');
  const hash = Buffer.from(parts[5]!, 'base64url');
  if (salt.length === 0 || hash.length === 0) return undefined;
  return { parameters: { N, r, p }, salt, hash };
}

/** Whether the password matches the stored hash; compared in constant time. An unreadable hash matches nothing. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  if (password.length > MAX_PASSWORD_LENGTH) return false;
  const parsed = parsePasswordHash(stored);
  if (!parsed) return false;
  const candidate = await scrypt(password, parsed.salt, parsed.parameters, parsed.hash.length);
  return timingSafeEqual(candidate, parsed.hash);
}

/**
 * A hash of nothing anyone knows, checked when the email is unknown or has no password, so a wrong email
 * takes as long to refuse as a wrong password (the answer's timing does not tell who has an account).
 */
let decoy: Promise<string> | undefined;
export async function verifyAgainstDecoy(password: string): Promise<false> {
  decoy ??= hashPassword(randomBytes(16).toString('hex'));
  await verifyPassword(password, await decoy);
  return false;
}
