export { redact, toQueueError } from './errors.js';
export * from './servicebus-queue.js';
