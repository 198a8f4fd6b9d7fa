/**
 * `maestro deploy DIR` packs the app folder into a deterministic tar.gz: the same tree gives the
 * same digest, which is how the control plane recognises an upload it already has.
 */
import { createHash } from 'node:crypto';
import { open, rm } from 'node:fs/promises';
import { formatBytes, MaestroError } from '../common/index.js';
import { collectTree, type TreeEntry } from './collect-tree.js';
import { writeAll } from './write-all.js';
import { archiveMtime, writeTarGz } from './tar-stream.js';

export interface PackOptions {
  /** Refuse folders whose files add up to more than this many bytes (before compression). */
  maxBytes?: number;
  /** Write the archive to this file instead of returning it in memory. */
  outFile?: string;
}

export interface PackResult<A extends Buffer | string = Buffer | string> {
  /** The archive itself, or the path it was written to when `outFile` was given. */
  archive: A;
  /** sha256 (hex) of the archive bytes. */
  digest: string;
  /** Files and symbolic links packed (folders not counted). */
  files: number;
  /** Bytes of file content packed, before compression. */
  bytes: number;
  /** Size of the compressed archive. */
  archiveBytes: number;
}

/**
 * Packs `dir` honouring `.gitignore` and `.maestroignore` files at every level, always leaving out
 * `.git`, `node_modules` (install recreates it) and `.maestro`.
 */
export async function packSource(dir: string, options: PackOptions & { outFile: string }): Promise<PackResult<string>>;
export async function packSource(dir: string, options?: PackOptions & { outFile?: undefined }): Promise<PackResult<Buffer>>;
export async function packSource(dir: string, options: PackOptions = {}): Promise<PackResult> {
  const entries = await collectTree(dir, { ignoreRules: true });
  const { files, bytes } = countEntries(entries);
  if (options.maxBytes !== undefined && bytes > options.maxBytes) {
    throw new MaestroError(
      'payload_too_large',
      `"${dir}" holds ${formatBytes(bytes)} of files, over the ${formatBytes(options.maxBytes)} limit; add build outputs and large data to .maestroignore`,
      { bytes, maxBytes: options.maxBytes },
    );
  }
  const mtime = archiveMtime();
  if (options.outFile === undefined) {
    const { digest, size, chunks } = await writeTarGz(entries, mtime, collectChunks);
    return { archive: Buffer.concat(chunks, size), digest, files, bytes, archiveBytes: size };
  }
  const outFile = options.outFile;
  try {
    const { digest, size } = await writeTarGz(entries, mtime, (gzipped) => writeFileHashed(outFile, gzipped));
    return { archive: outFile, digest, files, bytes, archiveBytes: size };
  } catch (error) {
    await rm(outFile, { force: true });
    throw error;
  }
}

export function countEntries(entries: readonly TreeEntry[]): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  for (const entry of entries) {
    if (entry.kind === 'dir') continue;
    files += 1;
    if (entry.kind === 'file') bytes += entry.size;
  }
  return { files, bytes };
}

async function collectChunks(source: AsyncIterable<Buffer>): Promise<{ digest: string; size: number; chunks: Buffer[] }> {
  const hash = createHash('sha256');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of source) {
    hash.update(chunk);
    chunks.push(chunk);
    size += chunk.length;
  }
  return { digest: hash.digest('hex'), size, chunks };
}

async function writeFileHashed(path: string, source: AsyncIterable<Buffer>): Promise<{ digest: string; size: number }> {
  const hash = createHash('sha256');
  const handle = await open(path, 'w', 0o644);
  let size = 0;
  try {
    for await (const chunk of source) {
      hash.update(chunk);
      await writeAll(handle, chunk);
      size += chunk.length;
    }
  } finally {
    await handle.close();
  }
  return { digest: hash.digest('hex'), size };
}
