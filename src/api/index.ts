export { buildApi } from './app.js';
export type { ApiContext } from './context.js';
export { ROUTER_WAKE_PATH } from './routes/router-wake.js';
export { DEFAULT_RATE_LIMITS, type RateLimits } from './rate-limits.js';
export type { Actor, RoutePermission } from './auth.js';
export { REASON_HEADER, isPerson } from './auth.js';
export { clearSessionCookie, setSessionCookie } from './session-cookie.js';
