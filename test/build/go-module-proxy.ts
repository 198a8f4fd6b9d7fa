/**
 * A Go module proxy on disk (GOPROXY=file://...) serving one module, and the go.sum lines that pin
 * it: `go mod download` fetches from it into GOMODCACHE for real, with no network.
 */
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';

export interface GoModule {
  path: string;
  version: string;
  /** File name -> contents; must hold go.mod. */
  files: Record<string, string>;
}

/** Writes the proxy's files for `module` under `proxyDir` and returns the module's go.sum lines. */
export async function writeGoModuleProxy(proxyDir: string, module: GoModule): Promise<string> {
  const folder = join(proxyDir, module.path, '@v');
  await mkdir(folder, { recursive: true });
  const prefix = `${module.path}@${module.version}`;
  const zipped = Object.entries(module.files).map(([name, text]) => ({ name: `${prefix}/${name}`, data: Buffer.from(text) }));
  await writeFile(join(folder, 'list'), `${module.version}\n`);
  await writeFile(join(folder, `${module.version}.info`), JSON.stringify({ Version: module.version, Time: '2024-01-01T00:00:00Z' }));
  await writeFile(join(folder, `${module.version}.mod`), module.files['go.mod']!);
  await writeFile(join(folder, `${module.version}.zip`), storedZip(zipped));
  return [
    `${module.path} ${module.version} ${hash1(zipped)}`,
    `${module.path} ${module.version}/go.mod ${hash1([{ name: 'go.mod', data: Buffer.from(module.files['go.mod']!) }])}`,
    '',
  ].join('\n');
}

/** Go's dirhash "h1:": sha256 over the sorted "sha256-of-file  name" lines. */
function hash1(files: ReadonlyArray<{ name: string; data: Buffer }>): string {
  const summary = createHash('sha256');
  for (const file of [...files].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    summary.update(`${createHash('sha256').update(file.data).digest('hex')}  ${file.name}\n`);
  }
  return `h1:${summary.digest('base64')}`;
}

/** A zip of uncompressed files, no folder entries (Go's module zips refuse those). */
function storedZip(files: ReadonlyArray<{ name: string; data: Buffer }>): Buffer {
  const DOS_DATE_1980_01_01 = 0x21;
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const file of files) {
    const name = Buffer.from(file.name);
    const crc = crc32(file.data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(DOS_DATE_1980_01_01, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(file.data.length, 18);
    local.writeUInt32LE(file.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(DOS_DATE_1980_01_01, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(file.data.length, 20);
    central.writeUInt32LE(file.data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, file.data);
    centrals.push(central, name);
    offset += local.length + name.length + file.data.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}
