/** `@nitro-datakey/shared/errors`: The root of every nitro-datakey error (NitroDatakeyError, each with a stable code) and InvalidArgumentError. */
export * from '../errors.js';
