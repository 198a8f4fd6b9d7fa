/**
 * The master key seals the signing key's private half. It never enters the database: it comes from
 * MAESTRO_MASTER_KEY (base64 of 32 bytes) or else `<data>/keys/master.key` (32 raw bytes, mode 0600),
 * so a copy of the database alone cannot sign.
 */
import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { MaestroError } from '../../common/index.js';

export const MASTER_KEY_ENV = 'MAESTRO_MASTER_KEY';
const MASTER_KEY_BYTES = 32;

export interface MasterKey {
  bytes: Buffer;
  /** Where it came from, for messages: the variable's name or the file's path. */
  origin: string;
}

export function masterKeyPath(dataDir: string): string {
  return join(resolve(dataDir), 'keys', 'master.key');
}

/** MAESTRO_MASTER_KEY's value as a key; a clear error when it is not base64 of exactly 32 bytes. */
export function parseMasterKey(text: string): Buffer {
  const trimmed = text.trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(trimmed) || trimmed.length % 4 !== 0) {
    throw new MaestroError('validation_error', `${MASTER_KEY_ENV} is not base64; make a key with \`openssl rand -base64 32\``);
  }
  const bytes = Buffer.from(trimmed, 'base64');
  if (bytes.length !== MASTER_KEY_BYTES) {
    throw new MaestroError(
      'validation_error',
      `${MASTER_KEY_ENV} must be ${MASTER_KEY_BYTES} bytes in base64 (e.g. \`openssl rand -base64 32\`); it decodes to ${bytes.length} bytes`,
    );
  }
  return bytes;
}

/** The master key from the environment, else from the data directory's file; undefined when there is neither. */
export async function readMasterKey(dataDir: string, env: NodeJS.ProcessEnv): Promise<MasterKey | undefined> {
  const fromEnv = env[MASTER_KEY_ENV];
  if (fromEnv !== undefined && fromEnv.trim() !== '') return { bytes: parseMasterKey(fromEnv), origin: MASTER_KEY_ENV };
  const path = masterKeyPath(dataDir);
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
  return { bytes, origin: path };
}

/**
 * Makes `<data>/keys/master.key` (32 random bytes, 0600) unless it exists. The file appears whole or
 * not at all (written aside, then hard-linked into place, which fails if it is there), so two first
 * starts at once end up with the same key.
 */
export async function createMasterKeyFile(dataDir: string): Promise<MasterKey> {
  const path = masterKeyPath(dataDir);
  await mkdir(join(resolve(dataDir), 'keys'), { recursive: true, mode: 0o700 });
  const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    const handle = await open(temp, 'wx', 0o600);
    try {
      await handle.writeFile(randomBytes(MASTER_KEY_BYTES));
      await handle.sync();
    } finally {
      await handle.close();
    }
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
