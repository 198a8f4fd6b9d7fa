export * from './errors.js';
export * from './units.js';
export * from './entry.js';
export * from './logger.js';
