/** `@nitro-datakey/shared/bytes`: Byte helpers: hex, base64, comparison, concatenation (Uint8Array in, Uint8Array out). */
export * from '../bytes.js';
