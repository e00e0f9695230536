import { constants, createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { grantTokens, kmsError, KmsServiceException, type KmsRequestBody as Body, optionalEnum, requireBlob } from '@nitro-datakey/shared';
import type { StoredKey } from '../keystore.js';
import { authorize } from './authorization.js';
import { keyArn, type Operation, type OperationContext } from './context.js';
import { keyIdParam, requireKeyUsage, requireUsable, resolveKey } from './keys.js';
import { SIGNING_ALGORITHMS, type SigningAlgorithm, signingAlgorithmsFor } from './key-specs.js';

/** Node's sign/verify options for one algorithm on one key. */
function signingOptions(key: StoredKey, algorithm: SigningAlgorithm, kind: 'private' | 'public') {
  const der = Buffer.from(kind === 'private' ? key.material : (key.publicKey as string), 'base64');
  const keyObject =
    kind === 'private' ? createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }) : createPublicKey({ key: der, format: 'der', type: 'spki' });
  const hash = `sha${algorithm.slice(-3)}`;
  const pss = algorithm.startsWith('RSASSA_PSS');
  // AWS's RSASSA-PSS uses MGF1 with the same hash and a salt as long as the hash.
  return {
    hash,
    key: keyObject,
    ...(pss ? { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: Number(algorithm.slice(-3)) / 8 } : {}),
    dsaEncoding: 'der' as const,
  };
}

/** What Sign and Verify share: the key, its usage and state, the algorithm it takes, the message. */
function signingRequest(ctx: OperationContext, body: Body, action: 'Sign' | 'Verify'): { key: StoredKey; algorithm: SigningAlgorithm; message: Uint8Array } {
  const key = resolveKey(ctx, keyIdParam(body));
  const message = requireBlob(body, 'Message', 1, 4096);
  const messageType = optionalEnum(body, 'MessageType', ['RAW', 'DIGEST', 'EXTERNAL_MU'] as const) ?? 'RAW';
  const algorithm = optionalEnum(body, 'SigningAlgorithm', SIGNING_ALGORITHMS);
  if (algorithm === undefined)
    throw kmsError.validation("1 validation error detected: Value null at 'signingAlgorithm' failed to satisfy constraint: Member must not be null");
  grantTokens(body);
  authorize(ctx, key, action);
  requireUsable(ctx, key);
  requireKeyUsage(ctx, key, 'SIGN_VERIFY');
  if (!signingAlgorithmsFor(key.keySpec ?? '').includes(algorithm))
    throw new KmsServiceException('InvalidKeyUsageException', `${algorithm} is not valid for ${keyArn(ctx, key.keyId)}, whose KeySpec is ${key.keySpec}.`);
  if (messageType !== 'RAW') throw kmsError.unsupported(`nitro-kms-local signs and verifies RAW messages only (MessageType ${messageType}).`);
  return { key, algorithm, message };
}

/** Sign and Verify with asymmetric SIGN_VERIFY keys (RSA, ECC): the signature is DER for ECDSA, as AWS's. */
export const SIGNING_OPERATIONS: Readonly<Record<string, Operation>> = {
  Sign(body, ctx) {
    const { key, algorithm, message } = signingRequest(ctx, body, 'Sign');
    const { hash, ...options } = signingOptions(key, algorithm, 'private');
    const signature = sign(hash, message, options);
    return { KeyId: keyArn(ctx, key.keyId), Signature: signature.toString('base64'), SigningAlgorithm: algorithm };
  },

  Verify(body, ctx) {
    const signature = requireBlob(body, 'Signature', 1, 6144);
    const { key, algorithm, message } = signingRequest(ctx, body, 'Verify');
    const { hash, ...options } = signingOptions(key, algorithm, 'public');
    let valid = false;
    try {
      valid = verify(hash, message, options, signature);
    } catch {
      valid = false; // a signature that does not even parse is as invalid as a wrong one
    }
    if (!valid) throw new KmsServiceException('KMSInvalidSignatureException', '');
    return { KeyId: keyArn(ctx, key.keyId), SignatureValid: true, SigningAlgorithm: algorithm };
  },
};
