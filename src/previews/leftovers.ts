/**
 * An environment's files on disk, named by the ids of its builds, revisions and deployments: which
 * exist, and which belong to no record any more. Only names Maestro itself makes are ever touched
 * (`bld_...`, `rev_...`, `dep_...`), so anything else in those folders (a push's export) is left alone.
 */
import { readdir, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { EnvironmentFootprint, RecordKind } from '../store/index.js';
import type { PreviewFolders } from './effects.js';

const BUILD_FOLDER = /^(bld_[a-z2-7]{12})$/;
const REVISION_FOLDER = /^(rev_[a-z2-7]{12})$/;
const DEPLOYMENT_LOG = /^(dep_[a-z2-7]{12})\.log$/;
/** `<revision>-<n>.log`, and its rotations `.log.1`, `.log.2`, ... */
const REPLICA_LOG = /^(rev_[a-z2-7]{12})-\d+\.log(?:\.\d+)?$/;

/** Files and folders found on disk, by what they are. */
export interface LeftoverFiles {
  workFolders: string[];
  revisionFolders: string[];
  logs: string[];
}

/** The files of an environment's builds, revisions, replicas and deployments that are on disk now. */
export async function environmentFiles(folders: PreviewFolders, footprint: EnvironmentFootprint): Promise<LeftoverFiles> {
  const builds = new Set(footprint.buildIds);
  const revisions = new Set(footprint.revisionIds);
  const deployments = new Set(footprint.deploymentIds);
  const found = await collect(folders);
  return {
    workFolders: found.workFolders.filter((path) => builds.has(idOf(path, BUILD_FOLDER))),
    revisionFolders: found.revisionFolders.filter((path) => revisions.has(idOf(path, REVISION_FOLDER))),
    logs: [
      ...found.deploymentLogs.filter((path) => deployments.has(idOf(path, DEPLOYMENT_LOG))),
      ...found.replicaLogs.filter((path) => revisions.has(idOf(path, REPLICA_LOG))),
    ],
  };
}

/**
 * The files whose build, revision or deployment no longer exists. `existing` says which ids still
 * have records; it is asked after the folders are read, so a record created meanwhile keeps its files.
 */
export async function orphanFiles(folders: PreviewFolders, existing: (kind: RecordKind, ids: string[]) => Promise<Set<string>>): Promise<LeftoverFiles> {
  const found = await collect(folders);
  const ids = (paths: string[], pattern: RegExp): string[] => [...new Set(paths.map((path) => idOf(path, pattern)))];
  const builds = await existing('builds', ids(found.workFolders, BUILD_FOLDER));
  const revisions = await existing('revisions', [...ids(found.revisionFolders, REVISION_FOLDER), ...ids(found.replicaLogs, REPLICA_LOG)]);
  const deployments = await existing('deployments', ids(found.deploymentLogs, DEPLOYMENT_LOG));
  return {
    workFolders: found.workFolders.filter((path) => !builds.has(idOf(path, BUILD_FOLDER))),
    revisionFolders: found.revisionFolders.filter((path) => !revisions.has(idOf(path, REVISION_FOLDER))),
    logs: [
      ...found.deploymentLogs.filter((path) => !deployments.has(idOf(path, DEPLOYMENT_LOG))),
      ...found.replicaLogs.filter((path) => !revisions.has(idOf(path, REPLICA_LOG))),
    ],
  };
}

export async function removeFiles(files: LeftoverFiles): Promise<number> {
  const paths = [...files.workFolders, ...files.revisionFolders, ...files.logs];
  for (const path of paths) await rm(path, { recursive: true, force: true });
  return paths.length;
}

export function countFiles(files: LeftoverFiles): number {
  return files.workFolders.length + files.revisionFolders.length + files.logs.length;
}

/** Everything in the folders named the way Maestro names its own files. */
async function collect(folders: PreviewFolders) {
  const pick = async (dir: string, pattern: RegExp): Promise<string[]> =>
    (await names(dir)).filter((name) => pattern.test(name)).map((name) => join(dir, name));
  return {
    workFolders: await pick(folders.work, BUILD_FOLDER),
    revisionFolders: await pick(folders.revisions, REVISION_FOLDER),
    deploymentLogs: await pick(folders.deploymentLogs, DEPLOYMENT_LOG),
    replicaLogs: await pick(folders.replicaLogs, REPLICA_LOG),
  };
}

async function names(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

function idOf(path: string, pattern: RegExp): string {
  return pattern.exec(basename(path))?.[1] ?? '';
}
