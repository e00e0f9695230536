import { type SealedSecret, SealedSecretError } from './envelope.js';

/*
 * A secret's version, carried in the envelope's encryption context: KMS binds it when it unwraps the
 * data key and GCM authenticates it with the header, so whoever stores or serves an envelope (the parent
 * instance) can withhold a version but never relabel one. The enclave refuses a version below the highest
 * it has opened for the item, and below the floor its (measured) config sets.
 */

/** The encryption-context key of a secret's version: a decimal integer, 1 or more. */
export const SECRET_VERSION_CONTEXT_KEY = 'nitro-datakey:secret-version';

/** The largest version: versions stay exact integers in JSON and JavaScript. */
export const MAX_SECRET_VERSION = Number.MAX_SAFE_INTEGER;

/** Reads a version written by a person or a config: a whole number from 1 to MAX_SECRET_VERSION, no sign, no leading zero. */
export function parseSecretVersion(text: string): number | undefined {
  if (!/^[1-9]\d{0,15}$/.test(text)) return undefined;
  const version = Number(text);
  return version <= MAX_SECRET_VERSION ? version : undefined;
}

/** The version an envelope was sealed with, or undefined for one sealed without (it ranks below version 1). */
export function sealedSecretVersion(sealed: SealedSecret): number | undefined {
  const text = sealed.encryptionContext[SECRET_VERSION_CONTEXT_KEY];
  if (text === undefined) return undefined;
  const version = parseSecretVersion(text);
  if (version === undefined)
    throw new SealedSecretError('ERR_SEALED_SECRET_MALFORMED', `${SECRET_VERSION_CONTEXT_KEY} must be a whole number from 1, got ${JSON.stringify(text)}`);
  return version;
}
