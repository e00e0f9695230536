import {
  assertSealableSecret,
  canonicalEncryptionContext,
  decodeEnvelopeField,
  openWithDataKey,
  parseSealedSecret,
  type SealedSecret,
  SealedSecretError,
  SECRET_NAME_CONTEXT_KEY,
  SECRET_VERSION_CONTEXT_KEY,
  sealedSecretContext,
  sealWithDataKey,
} from '@nitro-datakey/shared';
import type { AttestedKmsClient } from './kms/attested-client.js';
import { AttestedKmsError } from './errors.js';

/*
 * Sealed secrets through the attested client. The envelope format lives in @nitro-datakey/shared,
 * where the operator's `nitro-datakey seal` uses it too: an envelope sealed either way opens here.
 */

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
  assertSealableSecret(plaintext);
  const encryptionContext = sealedSecretContext(options.name, options.encryptionContext);
  // The envelope records the key this client expects, never what the answer claims (the client checks both agree).
  const dataKey = await client.generateDataKey({ KeyId: options.keyId, KeySpec: 'AES_256', EncryptionContext: encryptionContext });
  try {
    return sealWithDataKey(plaintext, dataKey, encryptionContext);
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
    // The name and the version are checked on their own; the rest must be what the item expects.
    const { [SECRET_NAME_CONTEXT_KEY]: _name, [SECRET_VERSION_CONTEXT_KEY]: _version, ...rest } = sealed.encryptionContext;
    if (Buffer.compare(canonicalEncryptionContext(options.expectedContext), canonicalEncryptionContext(rest)) !== 0) {
      throw new SealedSecretError('ERR_SEALED_SECRET_CONTEXT', 'the sealed secret carries another encryption context than the one expected');
    }
  }
  const blob = decodeEnvelopeField(sealed.encryptedDataKey, 'encryptedDataKey');
  let dataKey: Uint8Array;
  try {
    dataKey = (await client.decrypt({ CiphertextBlob: blob, EncryptionContext: sealed.encryptionContext, KeyId: expectedKey })).plaintext;
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
    return openWithDataKey(sealed, dataKey);
  } finally {
    dataKey.fill(0);
  }
}
