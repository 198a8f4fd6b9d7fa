import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { Parser, type ReadEntry } from 'tar';
import { MaestroError } from '../common/index.js';

const MAX_MANIFEST_BYTES = 1024 * 1024;

/** One small text file (the manifest) read straight out of an uploaded source archive, without unpacking it. */
export async function readFileFromSource(archive: string, name: string): Promise<string | undefined> {
  let found: string | undefined;
  let tooLarge = false;
  const wanted = new Set([name, `./${name}`]);
  const parser = new Parser({
    filter: (path) => wanted.has(path),
    onReadEntry: (entry: ReadEntry) => {
      if (entry.size > MAX_MANIFEST_BYTES) {
        tooLarge = true;
        entry.resume();
        return;
      }
      const chunks: Buffer[] = [];
      entry.on('data', (chunk: Buffer) => chunks.push(chunk));
      entry.on('end', () => (found = Buffer.concat(chunks).toString('utf8')));
    },
  });
  await pipeline(createReadStream(archive), parser);
  if (tooLarge) throw new MaestroError('validation_error', `${name} is larger than 1 MiB; a manifest should be a few kilobytes`);
  return found;
}
