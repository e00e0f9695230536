/** `@nitro-datakey/shared/loopback`: What counts as loopback, for listeners and endpoints that must never leave the machine. */
export * from '../loopback.js';
