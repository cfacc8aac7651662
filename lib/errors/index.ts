export * from './memory-store.error.js';
export * from './store-validation.error.js';
export * from './duplicate-key.error.js';
export * from './record-not-found.error.js';
export * from './seed-error.js';
export * from './query.error.js';
export * from './store-initialization.error.js';
export * from './store-capacity.error.js';
