/** `@nitro-datakey/shared/errors`: The root of every nitro-datakey error (NitroDatakeyError, each with a stable code) and InvalidArgumentError. */
export { NitroDatakeyError, InvalidArgumentError } from '../errors.js';
