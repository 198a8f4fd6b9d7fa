/**
 * Build artifacts: the service folder after the build, packed deterministically (no ignore rules,
 * node_modules included) into the content store, and unpacked safely where a revision runs.
 */
import type { ContentStore } from './cas.js';
import { collectTree } from './collect-tree.js';
import { archiveMtime, writeTarGz } from './tar-stream.js';
import { unpackSource, type UnpackLimits, type UnpackResult } from './unpack.js';

/** Artifacts carry node_modules: many more files than a source upload. */
export const DEFAULT_ARTIFACT_LIMITS: UnpackLimits = { maxBytes: 4 * 1024 ** 3, maxFiles: 1_000_000 };

export async function packArtifact(artifactDir: string, store: ContentStore): Promise<{ digest: string; size: number }> {
  const entries = await collectTree(artifactDir, { ignoreRules: false });
  const stored = await writeTarGz(entries, archiveMtime(), (gzipped) => store.put(gzipped));
  return { digest: stored.digest, size: stored.size };
}

/** Unpacks a stored artifact into `destDir` (missing or empty); not_found when the store lacks it. */
export async function unpackArtifact(
  digest: string,
  store: ContentStore,
  destDir: string,
  limits: UnpackLimits = DEFAULT_ARTIFACT_LIMITS,
): Promise<UnpackResult> {
  // size() answers not_found for a missing artifact before anything is created.
  await store.size(digest);
  return unpackSource(store.path(digest), destDir, limits);
}
