// Each suite and test server lives in its own module; add one export line per module.
export * from './eventgrid-capture.js';
export * from './provider-conformance.js';
export * from './servicebus-test-broker.js';
export * from './store-conformance.js';
