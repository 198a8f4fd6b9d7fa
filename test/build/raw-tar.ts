/**
 * Builds tar archives byte by byte, including the hostile ones a well-behaved tar writer refuses
 * to produce: absolute paths, `..`, links out of the tree, devices, lying pax headers.
 */
import { gzipSync } from 'node:zlib';
import { Header, Pax } from 'tar';

export interface RawEntry {
  path: string;
  type?: 'File' | 'Directory' | 'SymbolicLink' | 'Link' | 'CharacterDevice' | 'BlockDevice' | 'FIFO';
  content?: string | Buffer;
  /** Declared size when it should differ from the content (a header that lies). */
  size?: number;
  linkpath?: string;
  mode?: number;
  /** A pax header placed before this entry, overriding its fields. */
  pax?: { path?: string; linkpath?: string };
}

export function rawTar(entries: RawEntry[], options: { gzip?: boolean; end?: boolean } = {}): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const content = entry.content === undefined ? Buffer.alloc(0) : Buffer.from(entry.content);
    if (entry.pax) blocks.push(new Pax({ ...entry.pax, mtime: new Date(0) }).encode());
    const header = new Header({
      path: entry.path,
      type: entry.type ?? 'File',
      mode: entry.mode ?? (entry.type === 'Directory' ? 0o755 : 0o644),
      size: entry.size ?? content.length,
      mtime: new Date(0),
      uid: 0,
      gid: 0,
      ...(entry.linkpath !== undefined ? { linkpath: entry.linkpath } : {}),
    });
    header.encode();
    blocks.push(header.block!);
    if (content.length > 0) {
      blocks.push(content);
      const padding = (512 - (content.length % 512)) % 512;
      blocks.push(Buffer.alloc(padding));
    }
  }
  if (options.end !== false) blocks.push(Buffer.alloc(1024));
  const tar = Buffer.concat(blocks);
  return options.gzip === false ? tar : gzipSync(tar);
}
