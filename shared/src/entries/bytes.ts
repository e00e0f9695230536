/** `@nitro-datakey/shared/bytes`: Byte helpers: hex, base64, comparison, concatenation (Uint8Array in, Uint8Array out). */
export { toHex, fromHex, toBase64, fromBase64, bytesEqual, concatBytes, concatWiping, asUint8Array, assertBytes } from '../bytes.js';
