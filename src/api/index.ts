export { buildApi } from './app.js';
export type { ApiContext } from './context.js';
export { ROUTER_WAKE_PATH } from './routes/router-wake.js';
