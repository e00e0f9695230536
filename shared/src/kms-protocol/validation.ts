import { kmsError } from './errors.js';

/**
 * Field checks with AWS's wording: `1 validation error detected: Value 'X' at 'field' failed to
 * satisfy constraint: Member must ...`. Field names are camel-cased as AWS prints them.
 */
export type KmsRequestBody = Readonly<Record<string, unknown>>;

const fieldName = (name: string): string => name.charAt(0).toLowerCase() + name.slice(1);

function constraint(value: unknown, name: string, rule: string): never {
  const shown = typeof value === 'string' ? value : value instanceof Uint8Array ? 'java.nio.HeapByteBuffer' : JSON.stringify(value);
  throw kmsError.validation(`1 validation error detected: Value '${shown}' at '${fieldName(name)}' failed to satisfy constraint: Member must ${rule}`);
}

function required(body: KmsRequestBody, name: string): unknown {
  const value = body[name];
  if (value === undefined || value === null)
    throw kmsError.validation(`1 validation error detected: Value null at '${fieldName(name)}' failed to satisfy constraint: Member must not be null`);
  return value;
}

export function requireString(body: KmsRequestBody, name: string, min: number, max: number): string {
  return optionalString(body, name, min, max) ?? (required(body, name) as string);
}

export function optionalString(body: KmsRequestBody, name: string, min: number, max: number): string | undefined {
  const value = body[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw kmsError.serialization(`${name} must be a string`);
  if (value.length < min) constraint(value, name, `have length greater than or equal to ${min}`);
  if (value.length > max) constraint(value, name, `have length less than or equal to ${max}`);
  return value;
}

export function optionalInteger(body: KmsRequestBody, name: string, min: number, max: number): number | undefined {
  const value = body[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value)) throw kmsError.serialization(`${name} must be an integer`);
  if (value < min) constraint(value, name, `have value greater than or equal to ${min}`);
  if (value > max) constraint(value, name, `have value less than or equal to ${max}`);
  return value;
}

export function optionalBoolean(body: KmsRequestBody, name: string): boolean | undefined {
  const value = body[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw kmsError.serialization(`${name} must be a boolean`);
  return value;
}

export function optionalEnum<T extends string>(body: KmsRequestBody, name: string, allowed: readonly T[]): T | undefined {
  const value = body[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    constraint(value, name, `satisfy enum value set: [${allowed.join(', ')}]`);
  }
  return value as T;
}

/** A blob: base64 in JSON, with length bounds on the decoded bytes. */
export function optionalBlob(body: KmsRequestBody, name: string, min: number, max: number): Uint8Array | undefined {
  const value = body[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(value) || value.length % 4 === 1) throw kmsError.serialization(`${name} must be base64`);
  const bytes = new Uint8Array(Buffer.from(value, 'base64'));
  if (bytes.byteLength < min) constraint(bytes, name, `have length greater than or equal to ${min}`);
  if (bytes.byteLength > max) constraint(bytes, name, `have length less than or equal to ${max}`);
  return bytes;
}

export function requireBlob(body: KmsRequestBody, name: string, min: number, max: number): Uint8Array {
  return optionalBlob(body, name, min, max) ?? (required(body, name) as Uint8Array);
}

export function encryptionContext(body: KmsRequestBody, name = 'EncryptionContext'): Record<string, string> {
  const value = body[name];
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw kmsError.serialization(`${name} must be a map of strings`);
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw kmsError.serialization(`${name} must be a map of strings`);
    if (k.length === 0)
      throw kmsError.validation(
        `1 validation error detected: Value at '${fieldName(name)}' failed to satisfy constraint: Map keys must have length greater than or equal to 1`,
      );
  }
  return value as Record<string, string>;
}

export function grantTokens(body: KmsRequestBody): void {
  const value = body['GrantTokens'];
  if (value === undefined || value === null) return;
  if (!Array.isArray(value) || value.some((t) => typeof t !== 'string')) throw kmsError.serialization('GrantTokens must be a list of strings');
  if (value.length > 10) constraint(value, 'GrantTokens', 'have length less than or equal to 10');
  // AWS API model: GrantTokenType is a string of 1 to 8192 characters.
  for (const [i, token] of (value as string[]).entries()) {
    if (token.length < 1 || token.length > 8192) {
      throw kmsError.validation(
        `1 validation error detected: Value at 'grantTokens.${i + 1}.member' failed to satisfy constraint: Member must have length between 1 and 8192`,
      );
    }
  }
}

export const KEY_ID_MAX = 2048;
