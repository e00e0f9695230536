import {
  ENCRYPTION_ALGORITHMS,
  encryptionContext,
  grantTokens,
  ignoresCiphertext,
  KEY_ID_MAX,
  kmsError,
  KmsServiceException,
  optionalBoolean,
  optionalEnum,
  optionalString,
  parseDecryptRequest,
  requireBlob,
  toBase64 as b64,
} from '@nitro-datakey/shared';
import { authorize, contextConditions, prepare, requestCondition } from './authorization.js';
import { keyArn, type Operation, type OperationContext } from './context.js';
import { decryptBlob, open, seal } from './key-material.js';
import { keyIdParam, requireKeyUsage, requireUsable, resolveKey, keyMaterialId, currentMaterialId } from './keys.js';
import { dryRunParam } from './params.js';
import { readRecipient, secretAnswer } from './recipient-answer.js';

/** Symmetric encryption: Encrypt, Decrypt (honours Recipient) and ReEncrypt. */
export const ENCRYPTION_OPERATIONS: Readonly<Record<string, Operation>> = {
  Encrypt(body, ctx) {
    const keyId = keyIdParam(body);
    const plaintext = requireBlob(body, 'Plaintext', 1, 4096);
    const context = encryptionContext(body);
    grantTokens(body);
    const algorithm = optionalEnum(body, 'EncryptionAlgorithm', ['SYMMETRIC_DEFAULT', 'RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256', 'SM2PKE'] as const);
    const key = resolveKey(ctx, keyId);
    if (algorithm !== undefined && algorithm !== 'SYMMETRIC_DEFAULT')
      throw new KmsServiceException('InvalidKeyUsageException', `The request is not valid for the key's KeySpec: SYMMETRIC_DEFAULT.`);
    prepare(ctx, key, 'Encrypt', context, dryRunParam(body));
    return { KeyId: keyArn(ctx, key.keyId), CiphertextBlob: b64(seal(key, plaintext, context)), EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
  },
  Decrypt(body, ctx) {
    const r = parseDecryptRequest(body);
    if (r.dryRun && r.ignoreCiphertext) {
      // IGNORE_CIPHERTEXT checks only whether the caller may decrypt with the named key, so the key cannot come from the blob.
      if (r.keyId === undefined) throw kmsError.validation('KeyId is required when DryRunModifiers contains IGNORE_CIPHERTEXT.');
      const named = resolveKey(ctx, r.keyId);
      prepare(ctx, named, 'Decrypt', r.encryptionContext, true, readRecipient(ctx, r.recipient));
    }
    const { key, blob } = decryptBlob(ctx, r.ciphertextBlob, r.keyId);
    // Every key here is symmetric; an asymmetric algorithm names the wrong kind of key (AWS: InvalidKeyUsageException).
    if (r.encryptionAlgorithm !== undefined && r.encryptionAlgorithm !== 'SYMMETRIC_DEFAULT')
      throw new KmsServiceException('InvalidKeyUsageException', `The request is not valid for the key's KeySpec: SYMMETRIC_DEFAULT.`);
    const recipient = readRecipient(ctx, r.recipient);
    prepare(ctx, key, 'Decrypt', r.encryptionContext, r.dryRun, recipient);
    const plaintext = open(key, blob, r.encryptionContext);
    return {
      KeyId: keyArn(ctx, key.keyId),
      EncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
      ...secretAnswer('Decrypt', plaintext, recipient, { KeyMaterialId: keyMaterialId(key.keyId, blob.materialVersion) }),
    };
  },
  ReEncrypt(body, ctx) {
    const blobBytes = requireBlob(body, 'CiphertextBlob', 1, 6144);
    const sourceContext = encryptionContext(body, 'SourceEncryptionContext');
    const destinationContext = encryptionContext(body, 'DestinationEncryptionContext');
    const sourceKeyId = optionalString(body, 'SourceKeyId', 1, KEY_ID_MAX);
    const destinationId = keyIdParam(body, 'DestinationKeyId');
    grantTokens(body);
    const algorithms = ['SourceEncryptionAlgorithm', 'DestinationEncryptionAlgorithm'].map((m) => optionalEnum(body, m, ENCRYPTION_ALGORITHMS));
    const dryRun = optionalBoolean(body, 'DryRun') === true;
    if (dryRun && ignoresCiphertext(body)) return reEncryptPermissionsOnly(ctx, sourceKeyId, destinationId, sourceContext, destinationContext);
    const { key: source, blob } = decryptBlob(ctx, blobBytes, sourceKeyId);
    const destination = resolveKey(ctx, destinationId);
    // Every key here is symmetric; an asymmetric algorithm names the wrong kind of key (AWS: InvalidKeyUsageException).
    if (algorithms.some((a) => a !== undefined && a !== 'SYMMETRIC_DEFAULT'))
      throw new KmsServiceException('InvalidKeyUsageException', `The request is not valid for the key's KeySpec: SYMMETRIC_DEFAULT.`);
    requestCondition(ctx, 'kms:EncryptionAlgorithm', 'SYMMETRIC_DEFAULT');
    requestCondition(ctx, 'kms:ReEncryptOnSameKey', String(source.keyId === destination.keyId));
    authorize(ctx, source, 'ReEncryptFrom', contextConditions(sourceContext), sourceContext);
    authorize(ctx, destination, 'ReEncryptTo', contextConditions(destinationContext), destinationContext);
    requireUsable(ctx, source);
    requireUsable(ctx, destination);
    requireKeyUsage(ctx, destination, 'ENCRYPT_DECRYPT');
    if (dryRun) throw kmsError.dryRun();
    const plaintext = open(source, blob, sourceContext);
    return {
      CiphertextBlob: b64(seal(destination, plaintext, destinationContext)),
      SourceKeyId: keyArn(ctx, source.keyId),
      KeyId: keyArn(ctx, destination.keyId),
      SourceEncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
      DestinationEncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
      SourceKeyMaterialId: keyMaterialId(source.keyId, blob.materialVersion),
      DestinationKeyMaterialId: currentMaterialId(destination),
    };
  },
};

/**
 * ReEncrypt's DryRun with IGNORE_CIPHERTEXT: only whether the caller may re-encrypt from the named source key
 * to the destination, without reading the blob (so the source key cannot come from it).
 */
function reEncryptPermissionsOnly(
  ctx: OperationContext,
  sourceKeyId: string | undefined,
  destinationId: string,
  sourceContext: Readonly<Record<string, string>>,
  destinationContext: Readonly<Record<string, string>>,
): never {
  if (sourceKeyId === undefined) throw kmsError.validation('SourceKeyId is required when DryRunModifiers contains IGNORE_CIPHERTEXT.');
  const source = resolveKey(ctx, sourceKeyId);
  const destination = resolveKey(ctx, destinationId);
  authorize(ctx, source, 'ReEncryptFrom', contextConditions(sourceContext), sourceContext);
  authorize(ctx, destination, 'ReEncryptTo', contextConditions(destinationContext), destinationContext);
  requireUsable(ctx, source);
  requireUsable(ctx, destination);
  throw kmsError.dryRun();
}
