export * from './eventgrid-publisher.js';
