import { open, readdir, stat } from 'node:fs/promises';
import path from 'node:path';

/**
 * The files detection looks at. Detectors read only through this, so the same code runs on a
 * checkout on disk or on files held in memory (a pushed tree, a test), and stays deterministic.
 */
export interface DirEntry {
  name: string;
  kind: 'file' | 'dir';
}

export interface SourceTree {
  /**
   * Text of a file, or undefined when there is no such file. With `limit`, at most that many bytes
   * from the start (enough to sniff a lockfile header). A file that exists but cannot be read is
   * reported in `problems` and also gives undefined.
   */
  readText(file: string, limit?: number): Promise<string | undefined>;
  /** Entries of a folder, sorted by name; empty when it is missing. */
  list(dir: string): Promise<DirEntry[]>;
  isFile(file: string): Promise<boolean>;
  isDir(dir: string): Promise<boolean>;
  /** Files that were there but could not be read, each as a sentence naming the file. */
  readonly problems: string[];
}

/** Whole files larger than this are not read: detection needs manifests and entry points, not data. */
const MAX_FILE_BYTES = 2 * 1024 * 1024;

/** `join('.', 'a')` is `a`; paths always use forward slashes and never start with `./`. */
export function joinPath(...parts: string[]): string {
  const joined = path.posix.join(...parts);
  return joined === '' ? '.' : joined;
}

function insideRoot(relative: string): boolean {
  const normal = path.posix.normalize(relative);
  return !path.posix.isAbsolute(normal) && normal !== '..' && !normal.startsWith('../');
}

export function diskTree(root: string): SourceTree {
  const problems: string[] = [];
  const reported = new Set<string>();
  const report = (file: string, message: string): void => {
    if (reported.has(file)) return;
    reported.add(file);
    problems.push(message);
  };
  const absolute = (relative: string): string | undefined =>
    insideRoot(relative) ? path.join(root, ...relative.split('/')) : undefined;

  const kindOf = async (relative: string): Promise<'file' | 'dir' | undefined> => {
    const full = absolute(relative);
    if (!full) return undefined;
    try {
      const info = await stat(full);
      if (info.isFile()) return 'file';
      if (info.isDirectory()) return 'dir';
      return undefined;
    } catch {
      return undefined;
    }
  };

  return {
    problems,
    async readText(file, limit) {
      const full = absolute(file);
      if (!full) return undefined;
      let handle;
      try {
        handle = await open(full, 'r');
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
        report(file, `${file} could not be read (${code ?? 'error'}); check its permissions`);
        return undefined;
      }
      try {
        const info = await handle.stat();
        if (info.isDirectory()) {
          report(file, `${file} is a folder where Maestro expected a file; rename it or remove it`);
          return undefined;
        }
        if (!info.isFile()) return undefined;
        if (limit === undefined && info.size > MAX_FILE_BYTES) {
          report(file, `${file} is larger than ${MAX_FILE_BYTES / 1024 / 1024} MiB and was not read`);
          return undefined;
        }
        const size = Math.min(info.size, limit ?? MAX_FILE_BYTES);
        const buffer = Buffer.alloc(size);
        const { bytesRead } = await handle.read(buffer, 0, size, 0);
        return buffer.subarray(0, bytesRead).toString('utf8');
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        report(file, `${file} could not be read (${code ?? 'error'}); check its permissions`);
        return undefined;
      } finally {
        await handle.close();
      }
    },
    async list(dir) {
      const full = absolute(dir);
      if (!full) return [];
      try {
        const entries = await readdir(full, { withFileTypes: true });
        const result: DirEntry[] = [];
        for (const entry of entries) {
          if (entry.isFile()) result.push({ name: entry.name, kind: 'file' });
          else if (entry.isDirectory()) result.push({ name: entry.name, kind: 'dir' });
          else if (entry.isSymbolicLink()) {
            const kind = await kindOf(joinPath(dir, entry.name));
            if (kind) result.push({ name: entry.name, kind });
          }
        }
        return result.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      } catch {
        return [];
      }
    },
    async isFile(file) {
      return (await kindOf(file)) === 'file';
    },
    async isDir(dir) {
      return (await kindOf(dir)) === 'dir';
    },
  };
}

/** A tree held in memory: `{'package.json': '{...}', 'apps/web/package.json': '...'}`. */
export function memoryTree(files: Record<string, string>): SourceTree {
  const contents = new Map<string, string>();
  const dirs = new Set<string>(['.']);
  for (const [name, text] of Object.entries(files)) {
    const normal = joinPath(name);
    if (!insideRoot(normal) || normal === '.') continue;
    contents.set(normal, text);
    let parent = path.posix.dirname(normal);
    while (parent !== '.' && !dirs.has(parent)) {
      dirs.add(parent);
      parent = path.posix.dirname(parent);
    }
  }
  const problems: string[] = [];
  return {
    problems,
    async readText(file, limit) {
      const text = contents.get(joinPath(file));
      if (text === undefined) return undefined;
      return limit === undefined ? text : Buffer.from(text).subarray(0, limit).toString('utf8');
    },
    async list(dir) {
      const base = joinPath(dir);
      const names = new Map<string, 'file' | 'dir'>();
      const consider = (entry: string, kind: 'file' | 'dir'): void => {
        if (entry === '.' || path.posix.dirname(entry) !== base) return;
        names.set(path.posix.basename(entry), kind);
      };
      for (const file of contents.keys()) consider(file, 'file');
      for (const folder of dirs) consider(folder, 'dir');
      return [...names.entries()]
        .map(([name, kind]) => ({ name, kind }))
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    },
    async isFile(file) {
      return contents.has(joinPath(file));
    },
    async isDir(dir) {
      return dirs.has(joinPath(dir));
    },
  };
}
