import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** A file tree as tests write it: path -> contents, or a symlink / executable / empty folder. */
export type TreeSpec = Record<string, string | Buffer | { link: string } | { exec: string } | { dir: true }>;

export type TreeSnapshot = Record<string, { kind: 'file'; mode: number; content: string } | { kind: 'symlink'; target: string } | { kind: 'dir'; mode: number }>;

export async function tempDir(prefix = 'maestro-build-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

export async function writeTree(root: string, spec: TreeSpec): Promise<void> {
  for (const [path, value] of Object.entries(spec)) {
    const absolute = join(root, path);
    await mkdir(dirname(absolute), { recursive: true });
    if (typeof value === 'string' || Buffer.isBuffer(value)) await writeFile(absolute, value, { mode: 0o644 });
    else if ('link' in value) await symlink(value.link, absolute);
    else if ('exec' in value) await writeFile(absolute, value.exec, { mode: 0o755 });
    else await mkdir(absolute, { recursive: true });
  }
}

/** Every entry under root with kind, normalised mode and content (base64), for exact comparisons. */
export async function snapshotTree(root: string, folder = ''): Promise<TreeSnapshot> {
  const out: TreeSnapshot = {};
  const names = (await readdir(join(root, folder))).sort();
  for (const name of names) {
    const path = folder === '' ? name : `${folder}/${name}`;
    const absolute = join(root, path);
    const stat = await lstat(absolute);
    if (stat.isSymbolicLink()) out[path] = { kind: 'symlink', target: await readlink(absolute) };
    else if (stat.isDirectory()) {
      out[path] = { kind: 'dir', mode: stat.mode & 0o7777 };
      Object.assign(out, await snapshotTree(root, path));
    } else out[path] = { kind: 'file', mode: stat.mode & 0o7777, content: (await readFile(absolute)).toString('base64') };
  }
  return out;
}

/** Everything under a folder, as relative paths; for "nothing landed here" checks. */
export async function listAll(root: string): Promise<string[]> {
  const found = await readdir(root, { recursive: true }).catch(() => [] as string[]);
  return found.map(String).sort();
}
