import { join, resolve } from 'node:path';

/** Everything Maestro keeps lives under one data directory; this is the one map of it. */
export interface DataPaths {
  root: string;
  database: string;
  sources: string;
  artifacts: string;
  cache: string;
  work: string;
  revisions: string;
  /** Projects' bare repositories, `<project>.git` each (Maestro as a git remote). */
  git: string;
  deploymentLogs: string;
  replicaLogs: string;
  agentState: string;
  routerState: string;
  routerLog: string;
  routerPid: string;
  routerToken: string;
  controlPlanePid: string;
  adminToken: string;
}

export const DEFAULT_DATA_DIR = '.maestro';

export function resolveDataDir(explicit?: string): string {
  return resolve(explicit ?? process.env.MAESTRO_DATA_DIR ?? DEFAULT_DATA_DIR);
}

export function dataPaths(dataDir: string): DataPaths {
  const root = resolve(dataDir);
  return {
    root,
    database: join(root, 'db'),
    sources: join(root, 'sources'),
    artifacts: join(root, 'artifacts'),
    cache: join(root, 'cache'),
    work: join(root, 'work'),
    revisions: join(root, 'revisions'),
    git: join(root, 'git'),
    deploymentLogs: join(root, 'logs', 'deployments'),
    replicaLogs: join(root, 'logs', 'replicas'),
    agentState: join(root, 'agent'),
    routerState: join(root, 'router', 'routes.json'),
    routerLog: join(root, 'logs', 'router.log'),
    routerPid: join(root, 'router', 'router.json'),
    routerToken: join(root, 'router', 'admin-token'),
    controlPlanePid: join(root, 'control-plane.json'),
    adminToken: join(root, 'admin-token'),
  };
}
