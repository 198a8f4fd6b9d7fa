import type { FileHandle } from 'node:fs/promises';

/** write(2) may take fewer bytes than given; loop until the whole chunk is on disk. */
export async function writeAll(handle: FileHandle, chunk: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < chunk.length) {
    const { bytesWritten } = await handle.write(chunk, offset, chunk.length - offset);
    offset += bytesWritten;
  }
}
