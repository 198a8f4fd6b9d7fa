/**
 * Writes a deterministic tar.gz: entries in the given order, one fixed mtime, uid/gid 0, no user
 * or group names, no atime/ctime/inode fields, and a gzip header without the OS byte, so the same
 * tree gives the same bytes on any machine with the same zlib. Headers are encoded by the `tar`
 * package; the stream around them is ours so that nothing from the local file system leaks in.
 */
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { Header, Pax } from 'tar';
import { MaestroError } from '../common/index.js';
import type { TreeEntry } from './collect-tree.js';
import { printable } from './tree-paths.js';

const BLOCK = 512;
const GZIP_LEVEL = 6;
const SMALL_FILE_BYTES = 1024 * 1024;
/** Byte 9 of a gzip header names the OS that wrote it; 255 means "unknown" and is the same everywhere. */
const GZIP_OS_OFFSET = 9;

/** The modification time archives carry: SOURCE_DATE_EPOCH (whole seconds) when set, else the epoch. */
export function archiveMtime(env: NodeJS.ProcessEnv = process.env): Date {
  const text = env.SOURCE_DATE_EPOCH;
  if (text === undefined || text === '') return new Date(0);
  if (!/^\d+$/.test(text)) {
    throw new MaestroError('validation_error', `SOURCE_DATE_EPOCH must be whole seconds since 1970 (got "${printable(text)}")`);
  }
  return new Date(Number(text) * 1000);
}

/** Streams the gzipped archive of `entries` into `consume` and returns what it returns. */
export async function writeTarGz<T>(entries: readonly TreeEntry[], mtime: Date, consume: (gzipped: AsyncIterable<Buffer>) => Promise<T>): Promise<T> {
  let result: T | undefined;
  await pipeline(tarChunks(entries, mtime), createGzip({ level: GZIP_LEVEL }), portableGzipHeader, async (gzipped: AsyncIterable<Buffer>) => {
    result = await consume(gzipped);
  });
  return result as T;
}

async function* tarChunks(entries: readonly TreeEntry[], mtime: Date): AsyncGenerator<Buffer> {
  for (const entry of entries) {
    yield* headerBlocks(entry, mtime);
    if (entry.kind === 'file' && entry.size > 0) yield* fileBlocks(entry);
  }
  yield Buffer.alloc(2 * BLOCK);
}

function headerBlocks(entry: TreeEntry, mtime: Date): Buffer[] {
  const path = entry.kind === 'dir' ? `${entry.path}/` : entry.path;
  const linkpath = entry.kind === 'symlink' ? entry.target : undefined;
  const size = entry.kind === 'file' ? entry.size : 0;
  const header = new Header({
    path,
    mode: entry.kind === 'symlink' ? 0o777 : entry.mode,
    uid: 0,
    gid: 0,
    size,
    mtime,
    type: entry.kind === 'dir' ? 'Directory' : entry.kind === 'file' ? 'File' : 'SymbolicLink',
    linkpath: linkpath ?? '',
    uname: '',
    gname: '',
  });
  // encode() is true when a field does not fit the ustar header (long or non-ASCII names, huge sizes).
  const needsPax = header.encode();
  const blocks: Buffer[] = [];
  if (needsPax) blocks.push(new Pax({ path, ...(linkpath === undefined ? {} : { linkpath }), size, mtime }).encode());
  blocks.push(header.block!);
  return blocks;
}

async function* fileBlocks(entry: Extract<TreeEntry, { kind: 'file' }>): AsyncGenerator<Buffer> {
  // O_NOFOLLOW: a file swapped for a link after the walk must not pull in what the link points to.
  const handle = await open(entry.absolute, constants.O_RDONLY | constants.O_NOFOLLOW);
  let read = 0;
  try {
    if (entry.size <= SMALL_FILE_BYTES) {
      // One read for the many small files of a node_modules tree; a stream costs more than the data.
      const data = await handle.readFile();
      read = data.length;
      if (read === entry.size) yield data;
    } else {
      for await (const chunk of handle.createReadStream({ autoClose: false }) as AsyncIterable<Buffer>) {
        read += chunk.length;
        if (read > entry.size) break;
        yield chunk;
      }
    }
  } finally {
    await handle.close();
  }
  if (read !== entry.size) {
    throw new MaestroError('conflict', `"${printable(entry.path)}" changed while it was being packed; try again once nothing writes to the folder`, {
      path: printable(entry.path),
    });
  }
  const padding = (BLOCK - (entry.size % BLOCK)) % BLOCK;
  if (padding > 0) yield Buffer.alloc(padding);
}

async function* portableGzipHeader(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let offset = 0;
  for await (const chunk of source) {
    if (offset <= GZIP_OS_OFFSET && offset + chunk.length > GZIP_OS_OFFSET) {
      const patched = Buffer.from(chunk);
      patched[GZIP_OS_OFFSET - offset] = 0xff;
      offset += chunk.length;
      yield patched;
      continue;
    }
    offset += chunk.length;
    yield chunk;
  }
}
