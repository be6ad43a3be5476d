export { type AppOptions, createApp } from './app.js';
export { Authenticator, hashApiKey, type Principal } from './auth.js';
export { type Config, ConfigError, loadConfig } from './config.js';
export { ReceiverMetrics } from './metrics.js';
export { openApiDocument } from './openapi.js';
