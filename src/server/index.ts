export { startMaestro, readControlPlaneInfo, maestroVersion, DEFAULT_OPTIONS } from './up.js';
export type { UpOptions, RunningMaestro } from './up.js';
export { ControlPlane } from './control-plane.js';
export type { DeploymentView, ServiceStatusView } from './control-plane.js';
export { dataPaths, resolveDataDir, DEFAULT_DATA_DIR } from './paths.js';
export type { DataPaths } from './paths.js';
export { stopRouterProcess } from './router-process.js';
