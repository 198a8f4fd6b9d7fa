/**
 * The installation's master key: it wraps every secret's data key and seals the signing key's private
 * half. It never enters the database: it comes from MAESTRO_MASTER_KEY (base64 of 32 bytes) or else
 * `<data>/keys/master.key` (32 raw bytes, mode 0600), so a copy of the database alone opens nothing.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { link, mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { MaestroError } from '../common/index.js';

export const MASTER_KEY_ENV = 'MAESTRO_MASTER_KEY';
export const MASTER_KEY_BYTES = 32;

export interface MasterKey {
  bytes: Buffer;
  /** Where it came from, for messages: the variable's name or the file's path. */
  origin: string;
  /** Whether it came from MAESTRO_MASTER_KEY (a rotation cannot write it back there). */
  fromEnv: boolean;
}

export function masterKeyPath(dataDir: string): string {
  return join(resolve(dataDir), 'keys', 'master.key');
}

/** The key a rotation replaced, kept beside the new one until every data key is wrapped under the new one. */
export function previousMasterKeyPath(dataDir: string): string {
  return `${masterKeyPath(dataDir)}.previous`;
}

/** A short, stable name for a key that tells nothing about it (an HMAC under the key itself), stored to see which key wrapped what. */
export function masterKeyId(key: Buffer): string {
  return createHmac('sha256', key).update('maestro master key id').digest('hex').slice(0, 16);
}

/** A key in base64 (MAESTRO_MASTER_KEY, a --new-key-file); a clear error when it is not base64 of exactly 32 bytes. */
export function parseMasterKey(text: string, origin = MASTER_KEY_ENV): Buffer {
  const trimmed = text.trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(trimmed) || trimmed.length % 4 !== 0) {
    throw new MaestroError('validation_error', `${origin} is not base64; make a key with \`openssl rand -base64 32\``);
  }
  const bytes = Buffer.from(trimmed, 'base64');
  if (bytes.length !== MASTER_KEY_BYTES) {
    throw new MaestroError(
      'validation_error',
      `${origin} must be ${MASTER_KEY_BYTES} bytes in base64 (e.g. \`openssl rand -base64 32\`); it decodes to ${bytes.length} bytes`,
    );
  }
  return bytes;
}

/** The master key from the environment, else from the data directory's file; undefined when there is neither. */
export async function readMasterKey(dataDir: string, env: NodeJS.ProcessEnv): Promise<MasterKey | undefined> {
  const fromEnv = env[MASTER_KEY_ENV];
  if (fromEnv !== undefined && fromEnv.trim() !== '') return { bytes: parseMasterKey(fromEnv), origin: MASTER_KEY_ENV, fromEnv: true };
  const path = masterKeyPath(dataDir);
  const bytes = await readKeyFile(path);
  return bytes && { bytes, origin: path, fromEnv: false };
}

/** The key an interrupted rotation left in `master.key.previous`, if any. */
export async function readPreviousMasterKey(dataDir: string): Promise<MasterKey | undefined> {
  const path = previousMasterKeyPath(dataDir);
  const bytes = await readKeyFile(path);
  return bytes && { bytes, origin: path, fromEnv: false };
}

async function readKeyFile(path: string): Promise<Buffer | undefined> {
  const bytes = await readFile(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw new MaestroError('unavailable', `cannot read the master key ${path}: ${error.message}`);
  });
  if (bytes === undefined) return undefined;
  if (bytes.length !== MASTER_KEY_BYTES) {
    throw new MaestroError(
      'validation_error',
      `the master key ${path} must hold exactly ${MASTER_KEY_BYTES} bytes (it has ${bytes.length}); restore the file this data directory was created with, or set ${MASTER_KEY_ENV}`,
    );
  }
  return bytes;
}

/**
 * Makes `<data>/keys/master.key` (32 random bytes, 0600) unless it exists. The file appears whole or
 * not at all (written aside, then hard-linked into place, which fails if it is there), so two first
 * starts at once end up with the same key.
 */
export async function createMasterKeyFile(dataDir: string): Promise<MasterKey> {
  const path = masterKeyPath(dataDir);
  const temp = await writeAside(dataDir, randomBytes(MASTER_KEY_BYTES));
  try {
    await link(temp, path).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EEXIST') throw error;
    });
  } finally {
    await rm(temp, { force: true });
  }
  const created = await readMasterKey(dataDir, {});
  if (!created) throw new MaestroError('internal', `the master key ${path} vanished as it was made`);
  return created;
}

/**
 * A rotation's first half on disk: the current key is kept as `master.key.previous`, then the new one
 * replaces `master.key` (written aside, synced, renamed: a reader sees the old file or the new one).
 */
export async function replaceMasterKeyFile(dataDir: string, current: Buffer, next: Buffer): Promise<void> {
  await rename(await writeAside(dataDir, current), previousMasterKeyPath(dataDir));
  await rename(await writeAside(dataDir, next), masterKeyPath(dataDir));
}

/** Undoes `replaceMasterKeyFile` when the re-wrap did not commit: the previous key goes back into place. */
export async function restorePreviousMasterKeyFile(dataDir: string): Promise<void> {
  await rename(previousMasterKeyPath(dataDir), masterKeyPath(dataDir));
}

/** The rotation committed: the old key opens nothing any more. */
export async function forgetPreviousMasterKey(dataDir: string): Promise<void> {
  await rm(previousMasterKeyPath(dataDir), { force: true });
}

async function writeAside(dataDir: string, bytes: Buffer): Promise<string> {
  await mkdir(join(resolve(dataDir), 'keys'), { recursive: true, mode: 0o700 });
  const temp = `${masterKeyPath(dataDir)}.${randomBytes(6).toString('hex')}.tmp`;
  const handle = await open(temp, 'wx', 0o600);
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
  return temp;
}
