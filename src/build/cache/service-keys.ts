/**
 * Everything a pipeline needs to consult the cache for one service, computed from the unpacked
 * source before install: both keys, and which folders hold the installed dependencies.
 */
import type { LockfileDigest } from './keys.js';
import { buildOutputKey, currentPlatform, dependencyKey } from './keys.js';
import { findLockfiles, toolchainKindsFor } from './lockfiles.js';
import { serviceInputsDigest, type ServiceInputs } from './inputs.js';
import { cachedToolsFor, toolCachePaths, WORK_SOURCE_FOLDER } from './tool-caches.js';
import { toolchainVersions } from './toolchain.js';
import { normalizeEntryPath } from '../tree-paths.js';

export interface ServiceCacheKeysInput {
  /** The unpacked source tree (before install): `source/` in the build's work folder. */
  sourceRoot: string;
  servicePath: string;
  install?: string;
  command?: string;
  /** The service's environment: both steps see it, so both keys depend on it. */
  env: Record<string, string>;
  /** The environment the steps run with (its PATH finds the tools whose versions are asked). */
  toolEnv?: NodeJS.ProcessEnv;
}

export interface ServiceCacheKeys {
  dependencyKey: string;
  buildOutputKey: string;
  /**
   * False without any lockfile: an install then resolves whatever is newest, so its result must
   * not be reused. The output key is still sound (the service's manifests are among its inputs).
   */
  dependenciesCacheable: boolean;
  /** Where installed dependencies live, relative to the build's work folder: give these to save/restoreDependencies. */
  dependencyPaths: string[];
  lockfiles: LockfileDigest[];
  toolchain: Record<string, string>;
  inputs: ServiceInputs;
}

export async function serviceCacheKeys(input: ServiceCacheKeysInput): Promise<ServiceCacheKeys> {
  const servicePath = normalizeEntryPath(input.servicePath, 'service path');
  const [lockfiles, inputs] = await Promise.all([findLockfiles(input.sourceRoot, servicePath), serviceInputsDigest(input.sourceRoot, servicePath)]);
  const kinds = toolchainKindsFor(lockfiles.map((lockfile) => lockfile.path));
  const toolchain = await toolchainVersions(kinds, input.toolEnv);
  const depKey = dependencyKey({
    lockfiles,
    installCommand: input.install,
    toolchain,
    platform: currentPlatform(),
    servicePath,
    env: input.env,
  });
  return {
    dependencyKey: depKey,
    buildOutputKey: buildOutputKey({ inputsDigest: inputs.digest, dependencyKey: depKey, buildCommand: input.command, env: input.env }),
    dependenciesCacheable: lockfiles.length > 0,
    dependencyPaths: dependencyPathsFor({ servicePath, kinds, workspaceRoot: inputs.workspaceRoot, packages: inputs.packages }),
    lockfiles,
    toolchain,
    inputs,
  };
}

/**
 * Relative to the build's work folder (see tool-caches.ts): node_modules of the service, its
 * workspace root and the workspace packages it uses (npm hoists to the root but leaves conflicting
 * versions in the packages), a Python service's `.venv`, all in the source tree; Go's module cache
 * and Cargo's downloads, under the steps' HOME.
 */
export function dependencyPathsFor(input: { servicePath: string; kinds: readonly string[]; workspaceRoot?: string | undefined; packages: readonly string[] }): string[] {
  const inSource = (folder: string, name: string): string => (folder === '' ? `${WORK_SOURCE_FOLDER}/${name}` : `${WORK_SOURCE_FOLDER}/${folder}/${name}`);
  const paths = new Set<string>();
  if (input.kinds.some((kind) => ['node', 'bun', 'npm', 'pnpm', 'yarn'].includes(kind))) {
    for (const folder of [input.servicePath, ...(input.workspaceRoot === undefined ? [] : [input.workspaceRoot]), ...input.packages]) {
      paths.add(inSource(folder, 'node_modules'));
    }
  }
  if (input.kinds.includes('python')) paths.add(inSource(input.servicePath, '.venv'));
  for (const path of toolCachePaths(cachedToolsFor(input.kinds))) paths.add(path);
  return [...paths].sort();
}
