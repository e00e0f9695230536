import { createHmac, timingSafeEqual } from 'node:crypto';
import { grantTokens, kmsError, KmsServiceException, type KmsRequestBody as Body, optionalEnum, requireBlob } from '@nitro-datakey/shared';
import type { StoredKey } from '../keystore.js';
import { authorize, requestCondition } from './authorization.js';
import { keyArn, type Operation, type OperationContext } from './context.js';
import { keyIdParam, requireKeyUsage, requireUsable, resolveKey } from './keys.js';
import { MAC_SPECS } from './key-specs.js';

const MAC_ALGORITHMS = ['HMAC_SHA_224', 'HMAC_SHA_256', 'HMAC_SHA_384', 'HMAC_SHA_512'] as const;
type MacAlgorithm = (typeof MAC_ALGORITHMS)[number];

/** What GenerateMac and VerifyMac share: the key, its usage and state, the one algorithm its spec takes, the message. */
function macRequest(ctx: OperationContext, body: Body, action: 'GenerateMac' | 'VerifyMac'): { key: StoredKey; algorithm: MacAlgorithm; message: Uint8Array } {
  const key = resolveKey(ctx, keyIdParam(body));
  const message = requireBlob(body, 'Message', 1, 4096);
  const algorithm = optionalEnum(body, 'MacAlgorithm', MAC_ALGORITHMS);
  if (algorithm === undefined)
    throw kmsError.validation("1 validation error detected: Value null at 'macAlgorithm' failed to satisfy constraint: Member must not be null");
  grantTokens(body);
  requestCondition(ctx, 'kms:MacAlgorithm', algorithm);
  authorize(ctx, key, action);
  requireUsable(ctx, key);
  requireKeyUsage(ctx, key, 'GENERATE_VERIFY_MAC');
  if (MAC_SPECS[key.keySpec as keyof typeof MAC_SPECS]?.algorithm !== algorithm)
    throw new KmsServiceException('InvalidKeyUsageException', `${algorithm} is not valid for ${keyArn(ctx, key.keyId)}, whose KeySpec is ${key.keySpec}.`);
  return { key, algorithm, message };
}

const hmac = (key: StoredKey, algorithm: MacAlgorithm, message: Uint8Array): Buffer =>
  createHmac(`sha${algorithm.slice(-3)}`, Buffer.from(key.material, 'base64'))
    .update(message)
    .digest();

/** GenerateMac and VerifyMac with HMAC keys (GENERATE_VERIFY_MAC). */
export const MAC_OPERATIONS: Readonly<Record<string, Operation>> = {
  GenerateMac(body, ctx) {
    const { key, algorithm, message } = macRequest(ctx, body, 'GenerateMac');
    return { KeyId: keyArn(ctx, key.keyId), Mac: hmac(key, algorithm, message).toString('base64'), MacAlgorithm: algorithm };
  },

  VerifyMac(body, ctx) {
    const mac = requireBlob(body, 'Mac', 1, 6144);
    const { key, algorithm, message } = macRequest(ctx, body, 'VerifyMac');
    const expected = hmac(key, algorithm, message);
    if (mac.byteLength !== expected.byteLength || !timingSafeEqual(mac, expected)) throw new KmsServiceException('KMSInvalidMacException', '');
    return { KeyId: keyArn(ctx, key.keyId), MacValid: true, MacAlgorithm: algorithm };
  },
};
