export * from './client.js';
export * from './dedupe.js';
export * from './rate-limiter.js';
export * from './registration-cache.js';
export * from './two-level-cache.js';
