import { randomBytes } from 'node:crypto';
import {
  encryptionContext,
  grantTokens,
  KEY_PAIR_SPECS,
  KmsServiceException,
  optionalEnum,
  parseGenerateDataKeyPairRequest,
  parseGenerateDataKeyRequest,
  parseGenerateRandomRequest,
  requireString,
  toBase64 as b64,
} from '@nitro-datakey/shared';
import { authorizeWithoutKey, contextConditions, prepare, requestCondition } from './authorization.js';
import { keyArn, type Operation } from './context.js';
import { dataKeyPair, seal } from './key-material.js';
import { keyIdParam, resolveKey, currentMaterialId } from './keys.js';
import { dataKeyBytes, dryRunParam } from './params.js';
import { readRecipient, secretAnswer } from './recipient-answer.js';

/** Data keys, data key pairs and random bytes: the secrets an enclave asks for with a Recipient. */
export const DATA_KEY_OPERATIONS: Readonly<Record<string, Operation>> = {
  GenerateDataKey(body, ctx) {
    const r = parseGenerateDataKeyRequest(body);
    const key = resolveKey(ctx, r.keyId);
    const recipient = readRecipient(ctx, r.recipient);
    prepare(ctx, key, 'GenerateDataKey', r.encryptionContext, r.dryRun, recipient);
    const dataKey = new Uint8Array(randomBytes(r.numberOfBytes));
    return {
      KeyId: keyArn(ctx, key.keyId),
      CiphertextBlob: b64(seal(key, dataKey, r.encryptionContext)),
      ...secretAnswer('GenerateDataKey', dataKey, recipient, { KeyMaterialId: currentMaterialId(key) }),
    };
  },
  GenerateDataKeyWithoutPlaintext(body, ctx) {
    const keyId = keyIdParam(body);
    const size = dataKeyBytes(body);
    const context = encryptionContext(body);
    grantTokens(body);
    const key = resolveKey(ctx, keyId);
    prepare(ctx, key, 'GenerateDataKeyWithoutPlaintext', context, dryRunParam(body));
    return {
      KeyId: keyArn(ctx, key.keyId),
      CiphertextBlob: b64(seal(key, new Uint8Array(randomBytes(size)), context)),
      KeyMaterialId: currentMaterialId(key),
    };
  },
  async GenerateDataKeyPair(body, ctx) {
    const r = parseGenerateDataKeyPairRequest(body);
    const key = resolveKey(ctx, r.keyId);
    const recipient = readRecipient(ctx, r.recipient);
    requestCondition(ctx, 'kms:DataKeyPairSpec', r.keyPairSpec);
    prepare(ctx, key, 'GenerateDataKeyPair', r.encryptionContext, r.dryRun, recipient);
    const pair = await dataKeyPair(r.keyPairSpec);
    return {
      KeyId: keyArn(ctx, key.keyId),
      KeyPairSpec: r.keyPairSpec,
      PublicKey: b64(pair.publicKey),
      PrivateKeyCiphertextBlob: b64(seal(key, pair.privateKey, r.encryptionContext)),
      ...secretAnswer('GenerateDataKeyPair', pair.privateKey, recipient, { KeyMaterialId: currentMaterialId(key) }),
    };
  },
  async GenerateDataKeyPairWithoutPlaintext(body, ctx) {
    const keyId = keyIdParam(body);
    const spec = optionalEnum(body, 'KeyPairSpec', KEY_PAIR_SPECS) ?? (requireString(body, 'KeyPairSpec', 1, 32) as never);
    const context = encryptionContext(body);
    grantTokens(body);
    const key = resolveKey(ctx, keyId);
    requestCondition(ctx, 'kms:DataKeyPairSpec', spec);
    prepare(ctx, key, 'GenerateDataKeyPairWithoutPlaintext', context, dryRunParam(body));
    const pair = await dataKeyPair(spec);
    return {
      KeyId: keyArn(ctx, key.keyId),
      KeyPairSpec: spec,
      PublicKey: b64(pair.publicKey),
      PrivateKeyCiphertextBlob: b64(seal(key, pair.privateKey, context)),
      KeyMaterialId: currentMaterialId(key),
    };
  },
  GenerateRandom(body, ctx) {
    const r = parseGenerateRandomRequest(body);
    // The local KMS has no custom key store: any id names one that does not exist, as AWS answers.
    if (typeof body['CustomKeyStoreId'] === 'string')
      throw new KmsServiceException('CustomKeyStoreNotFoundException', `Custom key store ${body['CustomKeyStoreId']} does not exist.`);
    const recipient = readRecipient(ctx, r.recipient);
    authorizeWithoutKey(ctx, 'GenerateRandom', contextConditions({}, recipient));
    const random = new Uint8Array(randomBytes(r.numberOfBytes));
    return secretAnswer('GenerateRandom', random, recipient);
  },
};
