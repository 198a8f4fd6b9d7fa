import { spawnSync } from 'node:child_process';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Ecosystem, ScannedComponent } from '../../../src/supply-chain/vulns/index.js';

/** The real OSV advisories in ../shared/osv (67 GitHub-reviewed advisories for npm, PyPI and Go). */
export const SHARED_OSV = join(import.meta.dirname, '../../../../shared/osv');

const PURL_TYPE: Record<Ecosystem, string> = { npm: 'npm', PyPI: 'pypi', Go: 'golang' };

export function component(ecosystem: Ecosystem, name: string, version: string): ScannedComponent {
  return { ecosystem, name, version, purl: `pkg:${PURL_TYPE[ecosystem]}/${encodeURIComponent(name).replace(/%2F/g, '/')}@${version}` };
}

export async function tempDir(prefix: string): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** A writable copy of the shared advisories. */
export async function copyOfSharedOsv(into: string): Promise<string> {
  const target = join(into, 'osv');
  await cp(SHARED_OSV, target, { recursive: true });
  return target;
}

export const hasZip = spawnSync('zip', ['-v'], { stdio: 'ignore' }).status === 0;
if (!hasZip) console.warn('vulns: the `zip` command is missing, so reading .zip advisories is not tested (apt-get install zip)');

/** Runs a command and fails loudly if it fails. */
export function run(command: string, args: string[], cwd: string): void {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${result.stderr}`);
}
