/** The file edge: finding and reading maestro.yml. Everything else is pure parsing. */
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { MaestroError } from '../common/errors.js';
import { parseManifest } from './parse.js';
import { formatProblem, type Problem } from './problems.js';
import type { Manifest } from './schema.js';

export const MANIFEST_FILE = 'maestro.yml';
/** A manifest is a page of YAML; anything near this size is a mistake (or an attack on the parser). */
export const MAX_MANIFEST_BYTES = 1024 * 1024;

export interface LoadedManifest {
  /** The file that was read. */
  file: string;
  manifest: Manifest;
  warnings: Problem[];
}

/**
 * Reads and parses a manifest. `path` is the file itself or the folder holding maestro.yml. Throws
 * not_found when there is none, validation_error (problems in details) when it is invalid.
 */
export async function loadManifest(path: string): Promise<LoadedManifest> {
  const file = await manifestFile(path);
  const result = parseManifest(await readManifestText(file), file);
  if (!result.ok) {
    const count = result.problems.length === 1 ? '1 problem' : `${result.problems.length} problems`;
    throw new MaestroError('validation_error', `${file} has ${count}:\n${result.problems.map(formatProblem).join('\n')}`, {
      problems: result.problems,
    });
  }
  return { file, manifest: result.manifest, warnings: result.warnings };
}

/** What `maestro validate` prints: every problem and warning; throws only when there is no file. */
export async function validateFile(path: string): Promise<{ problems: Problem[]; warnings: Problem[] }> {
  const file = await manifestFile(path);
  const result = parseManifest(await readManifestText(file), file);
  return result.ok ? { problems: [], warnings: result.warnings } : { problems: result.problems, warnings: [] };
}

async function manifestFile(path: string): Promise<string> {
  const info = await stat(path).catch(() => undefined);
  if (info?.isDirectory()) {
    const file = join(path, MANIFEST_FILE);
    if (await isFile(file)) return file;
    const hint = (await isFile(join(path, 'maestro.yaml'))) ? `; found maestro.yaml, rename it to ${MANIFEST_FILE}` : '';
    throw missing(path, hint);
  }
  if (info?.isFile()) return path;
  // A path to a file that is not there: name its folder, which is what the user can act on.
  throw missing(basename(path) === MANIFEST_FILE ? dirname(path) : path, '');
}

function missing(where: string, hint: string): MaestroError {
  return new MaestroError(
    'not_found',
    hint === '' ? `no ${MANIFEST_FILE} in ${where}; run \`maestro init\` to write one` : `no ${MANIFEST_FILE} in ${where}${hint}`,
    { path: where },
  );
}

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isFile() ?? false;
}

async function readManifestText(file: string): Promise<string> {
  const info = await stat(file);
  if (info.size > MAX_MANIFEST_BYTES)
    throw new MaestroError('validation_error', `${file} is ${info.size} bytes; a manifest may be at most ${MAX_MANIFEST_BYTES} bytes`);
  return readFile(file, 'utf8');
}
