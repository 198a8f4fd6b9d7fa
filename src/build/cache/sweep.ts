/**
 * Leftovers of a crash between writing an archive and listing it: archives no entry refers to and
 * partial writes. Only names the content store itself makes are touched (`sha256/<2 hex>/<digest>`,
 * `tmp/*.part`), and only once older than `cutoff`, since a save in flight lists its archive a
 * moment after writing it.
 */
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isDigest } from '../cas.js';

export async function sweepOrphans(storeRoot: string, used: ReadonlySet<string>, cutoffMs: number): Promise<{ orphansRemoved: number; orphanBytes: number }> {
  let orphansRemoved = 0;
  let orphanBytes = 0;
  const remove = async (path: string): Promise<void> => {
    const found = await stat(path).catch(() => undefined);
    if (!found?.isFile() || found.mtimeMs > cutoffMs) return;
    await rm(path, { force: true });
    orphansRemoved += 1;
    orphanBytes += found.size;
  };
  const shards = join(storeRoot, 'sha256');
  for (const shard of await listNames(shards)) {
    if (!/^[0-9a-f]{2}$/.test(shard)) continue;
    for (const name of await listNames(join(shards, shard))) {
      if (isDigest(name) && name.startsWith(shard) && !used.has(name)) await remove(join(shards, shard, name));
    }
  }
  const temp = join(storeRoot, 'tmp');
  for (const name of await listNames(temp)) if (name.endsWith('.part')) await remove(join(temp, name));
  return { orphansRemoved, orphanBytes };
}

async function listNames(folder: string): Promise<string[]> {
  return readdir(folder).catch(() => [] as string[]);
}
