/** `@nitro-datakey/shared/loopback`: What counts as loopback, for listeners and endpoints that must never leave the machine. */
export { isLoopbackHost } from '../loopback.js';
