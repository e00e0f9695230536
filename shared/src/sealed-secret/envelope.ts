import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { concatWiping, fromBase64, toBase64 } from '../bytes.js';
import { canonicalEncryptionContext } from '../encryption-context.js';
import { NitroDatakeyError } from '../errors.js';

/*
 * The sealed-secret envelope, apart from KMS: who asks KMS for the data key differs (the enclave with
 * a Recipient, an operator with plain credentials), the envelope is the same. Both sides use this one
 * definition, so an envelope an operator seals is one the enclave opens.
 */

export const SEALED_SECRET_FORMAT = 'nitro-datakey/sealed-secret';

/**
 * The encryption-context key that binds an envelope to the name of the secret it holds. KMS checks
 * it when it unwraps the data key, and GCM authenticates it with the header: an envelope made for one
 * item cannot be served as another.
 */
export const SECRET_NAME_CONTEXT_KEY = 'nitro-datakey:secret-name';

/** The largest secret an envelope holds: secrets are configuration, not bulk data. */
export const MAX_SECRET_BYTES = 1024 * 1024;

/**
 * A self-describing envelope: the KMS key that wraps the data key, the wrapped data key, AES-256-GCM
 * with its IV and tag, and the encryption context, which both KMS (for the data key) and GCM (as AAD,
 * with the header) bind. Safe to store anywhere: only a caller KMS lets decrypt can open it.
 */
export interface SealedSecret {
  readonly format: typeof SEALED_SECRET_FORMAT;
  readonly version: 1;
  readonly keyId: string;
  readonly algorithm: 'AES-256-GCM';
  readonly encryptedDataKey: string;
  readonly iv: string;
  readonly encryptionContext: Readonly<Record<string, string>>;
  readonly ciphertext: string;
  readonly tag: string;
}

export type SealedSecretErrorCode =
  | 'ERR_SEALED_SECRET_MALFORMED'
  /** The secret is larger than an envelope holds (MAX_SECRET_BYTES). */
  | 'ERR_SEALED_SECRET_TOO_LARGE'
  | 'ERR_SEALED_SECRET_CONTEXT'
  | 'ERR_SEALED_SECRET_INTEGRITY'
  | 'ERR_SEALED_SECRET_KEY'
  /** The sealer's KMS call failed or its answer did not fit (the message names KMS's exception). */
  | 'ERR_SEALED_SECRET_KMS';

/** A sealed-secret envelope that cannot be made or opened; the code says why. */
export class SealedSecretError extends NitroDatakeyError {
  declare readonly code: SealedSecretErrorCode;

  constructor(code: SealedSecretErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** A data key as KMS's GenerateDataKey hands it out: the 32 plaintext bytes and their wrapped form. */
export interface WrappedDataKey {
  readonly plaintext: Uint8Array;
  readonly ciphertextBlob: Uint8Array;
  /** The full key ARN the data key is wrapped under: the one the caller expected, not what an answer claimed. */
  readonly keyId: string;
}

/**
 * The encryption context for the secret `name`: the caller's pairs plus the name. Refuses a context
 * that sets the name itself.
 */
export function sealedSecretContext(name: string, encryptionContext: Readonly<Record<string, string>> = {}): Record<string, string> {
  if (typeof name !== 'string' || name.length === 0) throw new SealedSecretError('ERR_SEALED_SECRET_MALFORMED', 'a sealed secret needs a name');
  if (Object.hasOwn(encryptionContext, SECRET_NAME_CONTEXT_KEY)) {
    throw new SealedSecretError('ERR_SEALED_SECRET_CONTEXT', `${SECRET_NAME_CONTEXT_KEY} is set from the name; leave it out of the encryption context`);
  }
  return { ...encryptionContext, [SECRET_NAME_CONTEXT_KEY]: name };
}

/** A secret's name is the file it opens to in the secrets directory: no path, no hidden file. */
export function isSecretName(name: string): boolean {
  return /^[A-Za-z0-9._-]+$/.test(name) && !name.startsWith('.');
}

/** Checks a secret's size before anyone asks KMS for a data key. */
export function assertSealableSecret(plaintext: Uint8Array): void {
  if (!(plaintext instanceof Uint8Array)) throw new SealedSecretError('ERR_SEALED_SECRET_MALFORMED', 'a secret must be a Uint8Array');
  if (plaintext.byteLength > MAX_SECRET_BYTES) {
    throw new SealedSecretError('ERR_SEALED_SECRET_TOO_LARGE', `the secret is ${plaintext.byteLength} bytes; an envelope holds at most ${MAX_SECRET_BYTES}`);
  }
}

/**
 * Encrypts `plaintext` under `dataKey` (AES-256-GCM, the header as AAD). The caller owns the data key
 * and zeroes it afterwards.
 *
 * @example
 * ```ts
 * const context = sealedSecretContext('db-password');
 * const envelope = sealWithDataKey(secret, dataKey, context);
 * dataKey.plaintext.fill(0);
 * ```
 */
export function sealWithDataKey(plaintext: Uint8Array, dataKey: WrappedDataKey, encryptionContext: Readonly<Record<string, string>>): SealedSecret {
  assertSealableSecret(plaintext);
  if (dataKey.plaintext.byteLength !== 32) throw new SealedSecretError('ERR_SEALED_SECRET_MALFORMED', 'the data key is not 32 bytes');
  const iv = randomBytes(12);
  const header = { format: SEALED_SECRET_FORMAT, version: 1, keyId: dataKey.keyId, algorithm: 'AES-256-GCM', encryptionContext } as const;
  const cipher = createCipheriv('aes-256-gcm', dataKey.plaintext, iv);
  cipher.setAAD(aad(header));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]); // ciphertext: pooling is harmless
  return {
    ...header,
    encryptedDataKey: toBase64(dataKey.ciphertextBlob),
    iv: iv.toString('base64'),
    ciphertext: ciphertext.toString('base64'),
    tag: cipher.getAuthTag().toString('base64'),
  };
}

/** Decrypts an envelope whose data key KMS has unwrapped; the result is unpooled, intermediates zeroed. */
export function openWithDataKey(sealed: SealedSecret, dataKey: Uint8Array): Uint8Array {
  if (dataKey.byteLength !== 32) throw new SealedSecretError('ERR_SEALED_SECRET_MALFORMED', 'the data key is not 32 bytes');
  const decipher = createDecipheriv('aes-256-gcm', dataKey, decodeEnvelopeField(sealed.iv, 'iv'));
  decipher.setAAD(aad(sealed));
  decipher.setAuthTag(decodeEnvelopeField(sealed.tag, 'tag'));
  try {
    // Unpooled output, intermediates zeroed: no copy of the secret stays in Node's shared Buffer pool.
    return concatWiping([decipher.update(decodeEnvelopeField(sealed.ciphertext, 'ciphertext')), decipher.final()]);
  } catch (cause) {
    throw new SealedSecretError('ERR_SEALED_SECRET_INTEGRITY', 'the sealed secret fails its integrity check: the ciphertext, IV, tag or header was altered', {
      cause,
    });
  }
}

/** Strict reading of an envelope (object, JSON text or bytes). */
export function parseSealedSecret(input: SealedSecret | string | Uint8Array): SealedSecret {
  let value: unknown = input;
  if (typeof input === 'string' || input instanceof Uint8Array) {
    try {
      value = JSON.parse(typeof input === 'string' ? input : Buffer.from(input).toString('utf8'));
    } catch {
      throw new SealedSecretError('ERR_SEALED_SECRET_MALFORMED', 'the sealed secret is not JSON');
    }
  }
  const v = value as Record<string, unknown>;
  if (v === null || typeof v !== 'object' || v['format'] !== SEALED_SECRET_FORMAT)
    throw new SealedSecretError('ERR_SEALED_SECRET_MALFORMED', `not a ${SEALED_SECRET_FORMAT} envelope`);
  if (v['version'] !== 1) throw new SealedSecretError('ERR_SEALED_SECRET_MALFORMED', `unsupported sealed secret version ${String(v['version'])}`);
  if (v['algorithm'] !== 'AES-256-GCM') throw new SealedSecretError('ERR_SEALED_SECRET_MALFORMED', `unsupported algorithm ${String(v['algorithm'])}`);
  const known = new Set(['format', 'version', 'keyId', 'algorithm', 'encryptedDataKey', 'iv', 'encryptionContext', 'ciphertext', 'tag']);
  for (const k of Object.keys(v)) if (!known.has(k)) throw new SealedSecretError('ERR_SEALED_SECRET_MALFORMED', `unknown field ${k}`);
  for (const k of ['keyId', 'encryptedDataKey', 'iv', 'ciphertext', 'tag'])
    if (typeof v[k] !== 'string') throw new SealedSecretError('ERR_SEALED_SECRET_MALFORMED', `${k} must be a string`);
  const ec = v['encryptionContext'];
  if (ec === null || typeof ec !== 'object' || Array.isArray(ec) || Object.values(ec).some((x) => typeof x !== 'string'))
    throw new SealedSecretError('ERR_SEALED_SECRET_MALFORMED', 'encryptionContext must be a map of strings');
  if (decodeEnvelopeField(v['iv'] as string, 'iv').byteLength !== 12 || decodeEnvelopeField(v['tag'] as string, 'tag').byteLength !== 16)
    throw new SealedSecretError('ERR_SEALED_SECRET_MALFORMED', 'the IV must be 12 bytes and the tag 16');
  return v as unknown as SealedSecret;
}

/** A base64 field of the envelope; anything else is a malformed envelope, not an InvalidArgumentError. */
export function decodeEnvelopeField(text: string, field: string): Uint8Array {
  try {
    return fromBase64(text, field);
  } catch {
    throw new SealedSecretError('ERR_SEALED_SECRET_MALFORMED', `${field} is not base64`);
  }
}

/** The header, canonically: format, version, key ARN, algorithm and encryption context. */
function aad(h: Pick<SealedSecret, 'format' | 'version' | 'keyId' | 'algorithm' | 'encryptionContext'>): Buffer {
  return Buffer.concat([
    Buffer.from(`${h.format}\u0000v${h.version}\u0000${h.keyId}\u0000${h.algorithm}\u0000`, 'utf8'),
    canonicalEncryptionContext(h.encryptionContext),
  ]);
}
