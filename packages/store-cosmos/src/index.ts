export {
  CONTAINERS,
  CosmosStore,
  type CosmosStoreContainers,
  type CosmosStoreOptions,
  DEFAULT_RETRY_OPTIONS,
  type OpenCosmosStoreOptions,
  openCosmosStore,
} from './cosmos-store.js';
export { REGISTRATION_ID } from './documents.js';
export { CosmosStoreError } from './errors.js';
