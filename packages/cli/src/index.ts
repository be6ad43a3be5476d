export { type HttpAnswer, UnreachableError } from './http.js';
export { EXIT, type OutputStream, type RunIo, run } from './run.js';
export { buildSample, SAMPLE_PROVIDERS, type Sample, type SampleContext, sampleEvents } from './samples.js';
export {
  type GoogleSigningKey,
  SIGNABLE_PROVIDERS,
  type SignDeliveryOptions,
  type SignedDelivery,
  signDelivery,
  UsageError,
} from './sign.js';
