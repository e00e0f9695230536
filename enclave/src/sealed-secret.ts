import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { canonicalEncryptionContext, concatWiping, fromBase64, toBase64 } from '@nitro-datakey/shared';
import type { AttestedKmsClient } from './kms/attested-client.js';
import { AttestedKmsError, SealedSecretError } from './errors.js';

export const SEALED_SECRET_FORMAT = 'nitro-datakey/sealed-secret';

/**
 * A self-describing envelope: the KMS key that wraps the data key, the wrapped data key, AES-256-GCM
 * with its IV and tag, and the encryption context, which both KMS (for the data key) and GCM (as AAD,
 * with the header) bind. Safe to store anywhere: only an attested enclave that KMS's policy admits
 * can open it.
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

const MAX_SECRET_BYTES = 1024 * 1024;

/**
 * The encryption-context key that binds an envelope to the name of the secret it holds. KMS checks
 * it when it unwraps the data key, and GCM authenticates it with the header: an envelope made for one
 * item cannot be served as another.
 */
export const SECRET_NAME_CONTEXT_KEY = 'nitro-datakey:secret-name';

export interface SealOptions {
  /** The KMS key: a full key ARN, or a name the client's allowedKeys maps to one. */
  readonly keyId: string;
  /** The secret's name (the file it opens to); bound into the encryption context. */
  readonly name: string;
  readonly encryptionContext?: Readonly<Record<string, string>>;
}

export interface OpenOptions {
  /** The key the envelope must be sealed under: checked before the call, and in KMS's answer. */
  readonly keyId: string;
  /** The name the envelope must have been sealed for. */
  readonly name: string;
  /** With it, the envelope's context (besides the name) must be exactly this. */
  readonly expectedContext?: Readonly<Record<string, string>>;
}

/** Seals `plaintext` under a fresh data key from KMS (an attested GenerateDataKey) for the secret `name`. */
export async function sealSecret(client: AttestedKmsClient, plaintext: Uint8Array, options: SealOptions): Promise<SealedSecret> {
  if (!(plaintext instanceof Uint8Array) || plaintext.byteLength > MAX_SECRET_BYTES)
    throw new SealedSecretError('ERR_SEALED_SECRET_MALFORMED', `a secret must be a Uint8Array of at most ${MAX_SECRET_BYTES} bytes`);
  if (typeof options.name !== 'string' || options.name.length === 0) throw new SealedSecretError('ERR_SEALED_SECRET_MALFORMED', 'a sealed secret needs a name');
  if (options.encryptionContext && Object.hasOwn(options.encryptionContext, SECRET_NAME_CONTEXT_KEY)) {
    throw new SealedSecretError('ERR_SEALED_SECRET_CONTEXT', `${SECRET_NAME_CONTEXT_KEY} is set from the name; leave it out of the encryption context`);
  }
  const encryptionContext = { ...(options.encryptionContext ?? {}), [SECRET_NAME_CONTEXT_KEY]: options.name };
  // The envelope records the key this client expects, never what the answer claims (the client checks both agree).
  const dataKey = await client.generateDataKey({ KeyId: options.keyId, KeySpec: 'AES_256', EncryptionContext: encryptionContext });
  try {
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
  } finally {
    dataKey.plaintext.fill(0);
  }
}

/**
 * Opens an envelope sealed for `name` under the key `keyId`: both are checked before KMS is asked, KMS
 * unwraps the data key (attested Decrypt under that key, bound to the envelope's context, and the
 * answer must name that key), then AES-GCM checks everything. Anyone can make an envelope and copy a
 * context; only the expected key and name make its origin the one the enclave was configured with.
 */
export async function openSecret(client: AttestedKmsClient, envelope: SealedSecret | string | Uint8Array, options: OpenOptions): Promise<Uint8Array> {
  const sealed = parseSealedSecret(envelope);
  const expectedKey = client.expectedKeyArn(options.keyId);
  if (sealed.keyId !== expectedKey) {
    throw new SealedSecretError('ERR_SEALED_SECRET_KEY', `the sealed secret ${options.name} names the key ${sealed.keyId}, not the expected ${expectedKey}`);
  }
  if (sealed.encryptionContext[SECRET_NAME_CONTEXT_KEY] !== options.name) {
    throw new SealedSecretError('ERR_SEALED_SECRET_CONTEXT', `the envelope was not sealed for the secret ${options.name} (it is another item's, or unnamed)`);
  }
  if (options.expectedContext) {
    const { [SECRET_NAME_CONTEXT_KEY]: _name, ...rest } = sealed.encryptionContext;
    if (Buffer.compare(canonicalEncryptionContext(options.expectedContext), canonicalEncryptionContext(rest)) !== 0) {
      throw new SealedSecretError('ERR_SEALED_SECRET_CONTEXT', 'the sealed secret carries another encryption context than the one expected');
    }
  }
  let dataKey: Uint8Array;
  try {
    dataKey = (
      await client.decrypt({
        CiphertextBlob: decodeField(sealed.encryptedDataKey, 'encryptedDataKey'),
        EncryptionContext: sealed.encryptionContext,
        KeyId: expectedKey,
      })
    ).plaintext;
  } catch (e) {
    if (e instanceof AttestedKmsError && (e.kmsErrorName === 'InvalidCiphertextException' || e.kmsErrorName === 'IncorrectKeyException')) {
      throw new SealedSecretError(
        'ERR_SEALED_SECRET_KEY',
        'KMS cannot unwrap the data key: the envelope was altered (its key or encryption context) or belongs to another KMS key',
        { cause: e },
      );
    }
    throw e;
  }
  try {
    if (dataKey.byteLength !== 32) throw new SealedSecretError('ERR_SEALED_SECRET_MALFORMED', 'the data key is not 32 bytes');
    const decipher = createDecipheriv('aes-256-gcm', dataKey, decodeField(sealed.iv, 'iv'));
    decipher.setAAD(aad(sealed));
    decipher.setAuthTag(decodeField(sealed.tag, 'tag'));
    try {
      // Unpooled output, intermediates zeroed: no copy of the secret stays in Node's shared Buffer pool.
      return concatWiping([decipher.update(decodeField(sealed.ciphertext, 'ciphertext')), decipher.final()]);
    } catch (cause) {
      throw new SealedSecretError('ERR_SEALED_SECRET_INTEGRITY', 'the sealed secret fails its integrity check: the ciphertext, IV, tag or header was altered', {
        cause,
      });
    }
  } finally {
    dataKey.fill(0);
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
  if (decodeField(v['iv'] as string, 'iv').byteLength !== 12 || decodeField(v['tag'] as string, 'tag').byteLength !== 16)
    throw new SealedSecretError('ERR_SEALED_SECRET_MALFORMED', 'the IV must be 12 bytes and the tag 16');
  return v as unknown as SealedSecret;
}

/** The header, canonically: format, version, key ARN, algorithm and encryption context. */
function aad(h: Pick<SealedSecret, 'format' | 'version' | 'keyId' | 'algorithm' | 'encryptionContext'>): Buffer {
  return Buffer.concat([
    Buffer.from(`${h.format}\u0000v${h.version}\u0000${h.keyId}\u0000${h.algorithm}\u0000`, 'utf8'),
    canonicalEncryptionContext(h.encryptionContext),
  ]);
}

/** A base64 field of the envelope; anything else is a malformed envelope, not an InvalidArgumentError. */
function decodeField(text: string, field: string): Uint8Array {
  try {
    return fromBase64(text, field);
  } catch {
    throw new SealedSecretError('ERR_SEALED_SECRET_MALFORMED', `${field} is not base64`);
  }
}
