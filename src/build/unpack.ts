/**
 * Safe extraction of an uploaded (or stored) tar.gz. The archive is hostile until proven otherwise:
 * every entry is checked before anything is written, nothing is ever written through a symbolic
 * link, and the whole archive is refused, with the destination emptied again, at the first entry
 * that is absolute, climbs with `..`, is a device, links outside, or breaks the size limits.
 */
import { constants, createReadStream } from 'node:fs';
import { link, mkdir, open, readdir, rm, symlink } from 'node:fs/promises';
import { once } from 'node:events';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { Parser, type ReadEntry } from 'tar';
import { errorMessage, formatBytes, isMaestroError, MaestroError } from '../common/index.js';
import { writeAll } from './write-all.js';
import { findEscapingLink, normalizeEntryPath, printable, resolveLink, type TreeNode } from './tree-paths.js';

export interface UnpackLimits {
  /** Most bytes of file content the archive may unpack to (a gzip bomb stops here). */
  maxBytes: number;
  /** Most entries (files, folders and links) the archive may hold. */
  maxFiles: number;
}

export interface UnpackResult {
  /** Files and links written (folders not counted). */
  files: number;
  /** Bytes of file content written. */
  bytes: number;
}

/** Room for headers on top of file content: long names take pax blocks, each entry at least one header block. */
const HEADER_ALLOWANCE_PER_ENTRY = 16 * 1024;
const MAX_META_ENTRY_BYTES = 64 * 1024;
const FEED_CHUNK = 64 * 1024;
const GZIP_MAGIC = [0x1f, 0x8b];
const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd];

/**
 * Unpacks `archive` (a path or the bytes; gzip or plain tar) into `destDir`, which must be missing
 * or empty. Rejects with a validation_error naming the offending entry; on any failure nothing the
 * archive wrote is left behind.
 */
export async function unpackSource(archive: string | Buffer, destDir: string, limits: UnpackLimits): Promise<UnpackResult> {
  checkLimits(limits);
  const created = await prepareDestination(destDir);
  const extraction = new Extraction(destDir, limits);
  try {
    await extract(archive, extraction, limits);
    return { files: extraction.files, bytes: extraction.bytes };
  } catch (error) {
    await emptyDestination(destDir, created);
    throw error;
  }
}

function checkLimits(limits: UnpackLimits): void {
  for (const key of ['maxBytes', 'maxFiles'] as const) {
    const value = limits[key];
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new MaestroError('validation_error', `unpack limit ${key} must be a whole number of at least 0 (got ${String(value)})`);
    }
  }
}

/** Returns whether the folder was created here (and so may be removed again on failure). */
async function prepareDestination(destDir: string): Promise<boolean> {
  const existing = await readdir(destDir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw new MaestroError('validation_error', `cannot unpack into "${destDir}": ${error.message}`);
  });
  if (existing === undefined) {
    await mkdir(destDir, { recursive: true, mode: 0o755 });
    return true;
  }
  // An empty destination means the tree model below is the whole truth about what is on disk.
  if (existing.length > 0) {
    throw new MaestroError('validation_error', `cannot unpack into "${destDir}": the folder is not empty`, { path: destDir });
  }
  return false;
}

async function emptyDestination(destDir: string, created: boolean): Promise<void> {
  if (created) {
    await rm(destDir, { recursive: true, force: true });
    return;
  }
  // rm never follows links, so this removes only what the archive put here.
  for (const name of await readdir(destDir).catch(() => [] as string[])) {
    await rm(join(destDir, name), { recursive: true, force: true });
  }
}

async function extract(archive: string | Buffer, extraction: Extraction, limits: UnpackLimits): Promise<void> {
  let failure: unknown;
  let rejectFailed: (error: unknown) => void = () => undefined;
  const failed = new Promise<never>((_, reject) => (rejectFailed = reject));
  failed.catch(() => undefined);
  const fail = (error: unknown): void => {
    if (failure !== undefined) return;
    failure = error;
    extraction.abort();
    rejectFailed(error);
  };

  let onlyZeros = true;
  let total = 0;
  const parser = new Parser({ brotli: false, zstd: false, maxMetaEntrySize: MAX_META_ENTRY_BYTES });
  parser.on('warn', (code: string, message: string) => {
    // An archive of nothing at all (a packed empty folder) is just the two zero end blocks.
    if (code === 'TAR_BAD_ARCHIVE' && onlyZeros && total >= 1024 && extraction.entries === 0 && /Unrecognized archive format/.test(message)) return;
    fail(damaged(message));
  });
  parser.on('error', (error: unknown) => fail(damaged(errorMessage(error))));
  parser.on('ignoredEntry', (entry: ReadEntry) => {
    const reason = entry.meta ? `has an extended header over ${formatBytes(MAX_META_ENTRY_BYTES)}` : `has the unsupported type "${entry.type}"`;
    fail(refuse(entry.path, reason));
  });
  // The parser may end on its own (at the end-of-archive blocks) before it is told the input ended.
  const parserEnded = new Promise<void>((resolve) => parser.on('end', () => resolve()));
  let chain: Promise<void> = Promise.resolve();
  parser.on('entry', (entry: ReadEntry) => {
    chain = chain
      .then(() => (failure === undefined ? extraction.handle(entry) : undefined))
      .catch((error: unknown) => fail(asRefusal(error, entry.path)));
  });

  const ceiling = limits.maxBytes + (limits.maxFiles + 2) * HEADER_ALLOWANCE_PER_ENTRY + 1024 * 1024;
  try {
    for await (const chunk of await tarBytes(archive)) {
      if (failure !== undefined) break;
      if (total === 0 && startsWith(chunk, GZIP_MAGIC, ZSTD_MAGIC)) {
        fail(new MaestroError('validation_error', 'the archive is compressed twice; upload a tar.gz of the folder'));
        break;
      }
      total += chunk.length;
      if (total > ceiling) {
        fail(new MaestroError('validation_error', `the archive unpacks to more than ${formatBytes(ceiling)} (limit ${formatBytes(limits.maxBytes)} of files)`));
        break;
      }
      if (onlyZeros && chunk.some((byte) => byte !== 0)) onlyZeros = false;
      if (!parser.write(chunk)) await Promise.race([once(parser, 'drain'), failed]);
    }
    if (failure === undefined) {
      parser.end();
      await Promise.race([parserEnded, failed]);
    }
  } catch (error) {
    fail(isMaestroError(error) ? error : damaged(errorMessage(error)));
  }
  await chain;
  if (failure !== undefined) throw failure;
  extraction.finish();
}

function startsWith(chunk: Buffer, ...magics: number[][]): boolean {
  return magics.some((magic) => magic.every((byte, index) => chunk[index] === byte));
}

/** The archive's tar bytes: gunzipped when it starts with the gzip magic, as is otherwise. */
async function tarBytes(archive: string | Buffer): Promise<AsyncIterable<Buffer>> {
  const head = typeof archive === 'string' ? await readHead(archive) : archive.subarray(0, 2);
  const raw = typeof archive === 'string' ? createReadStream(archive, { highWaterMark: FEED_CHUNK }) : Readable.from(slices(archive));
  if (!startsWith(head, GZIP_MAGIC)) return raw;
  const gunzip = createGunzip();
  raw.on('error', (error: Error) => gunzip.destroy(error));
  return raw.pipe(gunzip);
}

async function readHead(path: string): Promise<Buffer> {
  const handle = await open(path, 'r').catch((error: NodeJS.ErrnoException) => {
    throw new MaestroError(error.code === 'ENOENT' ? 'not_found' : 'validation_error', `cannot read the archive "${path}": ${error.message}`);
  });
  try {
    const head = Buffer.alloc(2);
    const { bytesRead } = await handle.read(head, 0, 2, 0);
    return head.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

function* slices(buffer: Buffer): Generator<Buffer> {
  for (let offset = 0; offset < buffer.length; offset += FEED_CHUNK) yield buffer.subarray(offset, offset + FEED_CHUNK);
}

/** File system answers that mean the archive asked for something impossible, not that the disk failed. */
const ENTRY_ERRNOS = new Set(['ENAMETOOLONG', 'EEXIST', 'ENOTDIR', 'EISDIR', 'ELOOP', 'EINVAL']);

function asRefusal(error: unknown, rawPath: string): unknown {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (!isMaestroError(error) && code !== undefined && ENTRY_ERRNOS.has(code)) return refuse(rawPath, `cannot be written (${code})`);
  return error;
}

function damaged(reason: string): MaestroError {
  return new MaestroError('validation_error', `the archive is damaged or not a tar.gz: ${reason}`);
}

function refuse(rawPath: string, problem: string): MaestroError {
  return new MaestroError('validation_error', `archive entry "${printable(rawPath)}" ${problem}`, { path: printable(rawPath) });
}

type EntryKind = 'file' | 'dir' | 'symlink' | 'hardlink';

function entryKind(type: string): EntryKind | undefined {
  switch (type) {
    case 'File':
    case 'OldFile':
    case 'ContiguousFile':
      return 'file';
    case 'Directory':
    case 'GNUDumpDir':
      return 'dir';
    case 'SymbolicLink':
      return 'symlink';
    case 'Link':
      return 'hardlink';
    default:
      return undefined;
  }
}

/** Writes entries one at a time into an empty folder, keeping a model of what it wrote. */
class Extraction {
  readonly tree = new Map<string, TreeNode>();
  entries = 0;
  files = 0;
  bytes = 0;
  private current: ReadEntry | undefined;

  constructor(
    private readonly root: string,
    private readonly limits: UnpackLimits,
  ) {}

  /** Stops the entry being written, so that its handler ends instead of waiting for data. */
  abort(): void {
    this.current?.destroy();
  }

  async handle(entry: ReadEntry): Promise<void> {
    this.current = entry;
    const kind = entryKind(entry.type);
    if (kind === undefined) {
      throw refuse(entry.path, `is a ${entry.type === 'CharacterDevice' || entry.type === 'BlockDevice' ? 'device file' : entry.type}; archives may hold only files, folders and links`);
    }
    const path = normalizeEntryPath(entry.path, 'archive entry');
    if (path === '') {
      if (kind !== 'dir') throw refuse(entry.path, 'names the archive root but is not a folder');
      entry.resume();
      return;
    }
    this.count(entry.path);
    await this.makeParents(entry.path, path);
    const existing = this.tree.get(path);
    if (existing) {
      // A folder may be named after its contents implied it; anything else twice is an overwrite.
      if (kind === 'dir' && existing.kind === 'dir') {
        entry.resume();
        return;
      }
      throw refuse(entry.path, 'appears twice in the archive');
    }
    const absolute = join(this.root, path);
    switch (kind) {
      case 'dir':
        await mkdir(absolute, { mode: 0o755 });
        this.tree.set(path, { kind: 'dir' });
        entry.resume();
        return;
      case 'file':
        await this.writeFile(entry, path, absolute);
        return;
      case 'symlink':
        await this.writeSymlink(entry, path, absolute);
        return;
      case 'hardlink':
        await this.writeHardlink(entry, path, absolute);
        return;
    }
  }

  /** After the last entry: links may point forward, so the full check runs on the finished tree. */
  finish(): void {
    const escaping = findEscapingLink(this.tree);
    if (escaping) throw refuse(escaping.path, `is a symbolic link to "${printable(escaping.target)}", which leads outside the folder`);
  }

  /** Folders implied by deep paths count too: the limit bounds what lands on disk, not just the headers. */
  private count(rawPath: string): void {
    this.entries += 1;
    if (this.entries > this.limits.maxFiles) throw refuse(rawPath, `is past the limit of ${this.limits.maxFiles} entries per archive`);
  }

  private async makeParents(rawPath: string, path: string): Promise<void> {
    const parts = path.split('/');
    for (let depth = 1; depth < parts.length; depth += 1) {
      const parent = parts.slice(0, depth).join('/');
      const node = this.tree.get(parent);
      if (node?.kind === 'dir') continue;
      if (node?.kind === 'symlink') throw refuse(rawPath, `would be written through the symbolic link "${printable(parent)}"`);
      if (node?.kind === 'file') throw refuse(rawPath, `would be written under "${printable(parent)}", which is a file`);
      this.count(rawPath);
      await mkdir(join(this.root, parent), { mode: 0o755 });
      this.tree.set(parent, { kind: 'dir' });
    }
  }

  private async writeFile(entry: ReadEntry, path: string, absolute: string): Promise<void> {
    const size = entry.size ?? 0;
    if (this.bytes + size > this.limits.maxBytes) {
      throw refuse(entry.path, `(${formatBytes(size)}) takes the archive past the limit of ${formatBytes(this.limits.maxBytes)} unpacked`);
    }
    // Normalised like packing does: only whether it is executable survives, never setuid and friends.
    const mode = (entry.mode ?? 0) & 0o111 ? 0o755 : 0o644;
    // O_EXCL and O_NOFOLLOW: never replace or write through something already there.
    const handle = await open(absolute, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
    this.tree.set(path, { kind: 'file' });
    let written = 0;
    try {
      for await (const chunk of entry as AsyncIterable<Buffer>) {
        written += chunk.length;
        if (written > size) throw refuse(entry.path, 'holds more data than its header says');
        await writeAll(handle, chunk);
      }
      await handle.chmod(mode);
    } finally {
      await handle.close();
    }
    if (written !== size) throw refuse(entry.path, `is cut short (${written} of ${size} bytes)`);
    this.files += 1;
    this.bytes += size;
  }

  private async writeSymlink(entry: ReadEntry, path: string, absolute: string): Promise<void> {
    const target = entry.linkpath ?? '';
    if (target === '' || target.includes('\0')) throw refuse(entry.path, 'is a symbolic link without a usable target');
    if (target.startsWith('/')) throw refuse(entry.path, `is a symbolic link to the absolute path "${printable(target)}"`);
    // Checked now for the plain cases, and again on the whole tree at the end for links that point forward.
    if (resolveLink(this.tree, path, target) === undefined) {
      throw refuse(entry.path, `is a symbolic link to "${printable(target)}", which leads outside the folder`);
    }
    await symlink(target, absolute);
    this.tree.set(path, { kind: 'symlink', target });
    this.files += 1;
    entry.resume();
  }

  private async writeHardlink(entry: ReadEntry, path: string, absolute: string): Promise<void> {
    const target = normalizeEntryPath(entry.linkpath ?? '', `hard link target of "${printable(entry.path)}"`);
    if (this.tree.get(target)?.kind !== 'file') {
      throw refuse(entry.path, `is a hard link to "${printable(entry.linkpath ?? '')}", which is not a file earlier in the archive`);
    }
    await link(join(this.root, target), absolute);
    this.tree.set(path, { kind: 'file' });
    this.files += 1;
    entry.resume();
  }
}
