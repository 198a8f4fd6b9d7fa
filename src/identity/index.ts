export { generateToken, hashToken, looksLikeToken, sameSecret, bearerToken } from './tokens.js';
