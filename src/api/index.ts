export { buildApi } from './app.js';
export type { ApiContext } from './context.js';
