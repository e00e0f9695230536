import { constants, createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { grantTokens, kmsError, KmsServiceException, type KmsRequestBody as Body, optionalEnum, requireBlob } from '@nitro-datakey/shared';
import type { StoredKey } from '../keystore.js';
import { authorize, requestCondition } from './authorization.js';
import { keyArn, type Operation, type OperationContext } from './context.js';
import { keyIdParam, requireKeyUsage, requireUsable, resolveKey } from './keys.js';
import { ASYMMETRIC_SPECS, type AsymmetricSpec, SIGNING_ALGORITHMS, type SigningAlgorithm, signingAlgorithmsFor } from './key-specs.js';
import {
  DIGEST_LENGTH,
  type DigestHash,
  type EcdsaCurveName,
  signEcdsaDigest,
  signRsaPkcs1Digest,
  signRsaPssDigest,
  verifyEcdsaDigest,
  verifyRsaPkcs1Digest,
  verifyRsaPssDigest,
} from '../prehashed-signature.js';

/** The key as Node's KeyObject, the hash its algorithm names, and the options of Node's sign and verify. */
function signingKey(key: StoredKey, algorithm: SigningAlgorithm, kind: 'private' | 'public') {
  const der = Buffer.from(kind === 'private' ? key.material : (key.publicKey as string), 'base64');
  const keyObject =
    kind === 'private' ? createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }) : createPublicKey({ key: der, format: 'der', type: 'spki' });
  const hash = `sha${algorithm.slice(-3)}` as DigestHash;
  const pss = algorithm.startsWith('RSASSA_PSS');
  // AWS's RSASSA-PSS uses MGF1 with the same hash and a salt as long as the hash.
  const options = {
    key: keyObject,
    ...(pss ? { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: DIGEST_LENGTH[hash] } : {}),
    dsaEncoding: 'der' as const,
  };
  return { hash, keyObject, options };
}

/** The curve of an ECC key spec, for the digest path. */
function curveOf(key: StoredKey): EcdsaCurveName {
  const how = ASYMMETRIC_SPECS[key.keySpec as AsymmetricSpec];
  if (how?.type !== 'ec') throw new Error(`not an ECC key spec: ${key.keySpec}`);
  return how.namedCurve;
}

function jwkInteger(value: string | undefined): bigint {
  return BigInt(`0x${Buffer.from(value ?? '', 'base64url').toString('hex') || '0'}`);
}

/** A signature of an already computed digest (MessageType DIGEST): Node's sign() would hash it again. */
function signDigest(key: StoredKey, algorithm: SigningAlgorithm, digest: Uint8Array): Uint8Array {
  const { hash, keyObject } = signingKey(key, algorithm, 'private');
  if (algorithm.startsWith('RSASSA_PSS')) return signRsaPssDigest(keyObject, hash, digest);
  if (algorithm.startsWith('RSASSA_PKCS1')) return signRsaPkcs1Digest(keyObject, hash, digest);
  return signEcdsaDigest(curveOf(key), jwkInteger(keyObject.export({ format: 'jwk' }).d), digest);
}

function verifyDigest(key: StoredKey, algorithm: SigningAlgorithm, digest: Uint8Array, signature: Uint8Array): boolean {
  const { hash, keyObject } = signingKey(key, algorithm, 'public');
  if (algorithm.startsWith('RSASSA_PSS')) return verifyRsaPssDigest(keyObject, hash, digest, signature);
  if (algorithm.startsWith('RSASSA_PKCS1')) return verifyRsaPkcs1Digest(keyObject, hash, digest, signature);
  const jwk = keyObject.export({ format: 'jwk' });
  return verifyEcdsaDigest(curveOf(key), { x: jwkInteger(jwk.x), y: jwkInteger(jwk.y) }, digest, signature);
}

/** What Sign and Verify share: the key, its usage and state, the algorithm it takes, the message. */
function signingRequest(
  ctx: OperationContext,
  body: Body,
  action: 'Sign' | 'Verify',
): { key: StoredKey; algorithm: SigningAlgorithm; message: Uint8Array; digest: boolean } {
  const key = resolveKey(ctx, keyIdParam(body));
  const message = requireBlob(body, 'Message', 1, 4096);
  const messageType = optionalEnum(body, 'MessageType', ['RAW', 'DIGEST', 'EXTERNAL_MU'] as const) ?? 'RAW';
  const algorithm = optionalEnum(body, 'SigningAlgorithm', SIGNING_ALGORITHMS);
  if (algorithm === undefined)
    throw kmsError.validation("1 validation error detected: Value null at 'signingAlgorithm' failed to satisfy constraint: Member must not be null");
  grantTokens(body);
  requestCondition(ctx, 'kms:SigningAlgorithm', algorithm);
  requestCondition(ctx, 'kms:MessageType', messageType);
  authorize(ctx, key, action);
  requireUsable(ctx, key);
  requireKeyUsage(ctx, key, 'SIGN_VERIFY');
  if (!signingAlgorithmsFor(key.keySpec ?? '').includes(algorithm))
    throw new KmsServiceException('InvalidKeyUsageException', `${algorithm} is not valid for ${keyArn(ctx, key.keyId)}, whose KeySpec is ${key.keySpec}.`);
  // EXTERNAL_MU belongs to ML-DSA keys, which the local KMS does not offer: every key it has refuses it, as AWS's would.
  if (messageType === 'EXTERNAL_MU') throw kmsError.validation(`MessageType EXTERNAL_MU is valid only for ML_DSA key specs, not ${key.keySpec}.`);
  const digest = messageType === 'DIGEST';
  if (digest && message.byteLength !== DIGEST_LENGTH[`sha${algorithm.slice(-3)}` as DigestHash])
    throw kmsError.validation(`Digest is invalid length for algorithm ${algorithm}.`);
  return { key, algorithm, message, digest };
}

/** Sign and Verify with asymmetric SIGN_VERIFY keys (RSA, ECC): the signature is DER for ECDSA, as AWS's. */
export const SIGNING_OPERATIONS: Readonly<Record<string, Operation>> = {
  Sign(body, ctx) {
    const { key, algorithm, message, digest } = signingRequest(ctx, body, 'Sign');
    const { hash, options } = signingKey(key, algorithm, 'private');
    const signature = digest ? signDigest(key, algorithm, message) : sign(hash, message, options);
    return { KeyId: keyArn(ctx, key.keyId), Signature: Buffer.from(signature).toString('base64'), SigningAlgorithm: algorithm };
  },

  Verify(body, ctx) {
    const signature = requireBlob(body, 'Signature', 1, 6144);
    const { key, algorithm, message, digest } = signingRequest(ctx, body, 'Verify');
    const { hash, options } = signingKey(key, algorithm, 'public');
    let valid = false;
    try {
      valid = digest ? verifyDigest(key, algorithm, message, signature) : verify(hash, message, options, signature);
    } catch {
      valid = false; // a signature that does not even parse is as invalid as a wrong one
    }
    if (!valid) throw new KmsServiceException('KMSInvalidSignatureException', '');
    return { KeyId: keyArn(ctx, key.keyId), SignatureValid: true, SigningAlgorithm: algorithm };
  },
};
