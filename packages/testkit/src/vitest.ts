// Conformance suites written with vitest's describe/it/expect; vitest is ESM-only, so this entry is too.
export * from './provider-conformance.js';
export * from './store-conformance.js';
