export { generateToken, hashToken, looksLikeToken, sameSecret, bearerToken } from './tokens.js';
export {
  PERMISSIONS,
  ROLES,
  LEGACY_ROLES,
  ROLE_PERMISSIONS,
  deployPermission,
  isPermission,
  isRole,
  roleAllows,
  type Permission,
  type Role,
} from './permissions.js';
export {
  decideAccess,
  describeGrants,
  effectivePermissions,
  grantsAllow,
  missingForRole,
  permissionsAt,
  primaryRole,
  principalAllows,
  type AccessDecision,
  type Grant,
  type Principal,
  type Target,
} from './access.js';
export { authenticateSession, authenticateToken, membershipGrants, principalOfToken, principalOfUser, tokenGrant } from './principal.js';
export {
  CSRF_HEADER,
  SESSION_COOKIE,
  SESSION_IDLE_MS,
  SESSION_LIFETIME_MS,
  csrfMatches,
  generateCsrfToken,
  generateSessionSecret,
  isSafeMethod,
  sessionState,
} from './sessions.js';
export { DEFAULT_SCRYPT, MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, checkNewPassword, hashPassword, parsePasswordHash, verifyAgainstDecoy, verifyPassword } from './passwords.js';
export { LOGIN_LIMITS, decideLoginThrottle, waitAfter, type LoginThrottle, type ThrottleLimits } from './login-throttle.js';
export { logIn, openSession, type LoggedIn, type LoginInput } from './login.js';
