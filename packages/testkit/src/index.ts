// Test servers and data usable from any test runner (ESM and CJS). The vitest suites
// (runStoreConformance, runProviderConformance) are at `@webhooks/testkit/vitest`.
export * from './eventgrid-capture.js';
export * from './hostile-ids.js';
export * from './servicebus-test-broker.js';
