export * from './errors.js';
export * from './health.js';
export * from './patterns.js';
export * from './ports.js';
export * from './provider.js';
export * from './published-event.js';
export * from './types.js';
