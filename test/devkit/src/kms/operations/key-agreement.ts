import { createPrivateKey, createPublicKey, diffieHellman } from 'node:crypto';
import { grantTokens, kmsError, KmsServiceException, parseDeriveSharedSecretRequest } from '@nitro-datakey/shared';
import { authorize, contextConditions, requestCondition } from './authorization.js';
import { keyArn, type Operation } from './context.js';
import { usageAlgorithms, keyIdParam, requireKeyUsage, requireUsable, resolveKey } from './keys.js';
import { readRecipient, secretAnswer } from './recipient-answer.js';
import { ASYMMETRIC_SPECS, type AsymmetricSpec } from './key-specs.js';

/** An asymmetric key's public key (key agreement, signing), and ECDH with a KEY_AGREEMENT key (honours Recipient). */
export const KEY_AGREEMENT_OPERATIONS: Readonly<Record<string, Operation>> = {
  GetPublicKey(body, ctx) {
    const key = resolveKey(ctx, keyIdParam(body));
    grantTokens(body);
    authorize(ctx, key, 'GetPublicKey');
    requireUsable(ctx, key);
    if (key.publicKey === undefined)
      throw new KmsServiceException('UnsupportedOperationException', `${keyArn(ctx, key.keyId)} is a symmetric key: it has no public key.`);
    return {
      KeyId: keyArn(ctx, key.keyId),
      PublicKey: key.publicKey,
      CustomerMasterKeySpec: key.keySpec,
      KeySpec: key.keySpec,
      KeyUsage: key.keyUsage,
      ...usageAlgorithms(key),
    };
  },
  /**
   * ECDH between the key's private key and the caller's public key (AWS API model: KeyId,
   * KeyAgreementAlgorithm ECDH and PublicKey required; the raw shared secret in SharedSecret, or
   * encrypted to the enclave in CiphertextForRecipient with a Recipient).
   */
  DeriveSharedSecret(body, ctx) {
    const r = parseDeriveSharedSecretRequest(body);
    const key = resolveKey(ctx, r.keyId);
    const recipient = readRecipient(ctx, r.recipient);
    requestCondition(ctx, 'kms:KeyAgreementAlgorithm', 'ECDH');
    authorize(ctx, key, 'DeriveSharedSecret', contextConditions({}, recipient));
    requireUsable(ctx, key);
    requireKeyUsage(ctx, key, 'KEY_AGREEMENT');
    if (r.dryRun) throw kmsError.dryRun();
    let peer: ReturnType<typeof createPublicKey>;
    try {
      peer = createPublicKey({ key: Buffer.from(r.publicKey), format: 'der', type: 'spki' });
    } catch {
      throw kmsError.validation('PublicKey must be a DER-encoded X.509 SubjectPublicKeyInfo.');
    }
    const how = ASYMMETRIC_SPECS[key.keySpec as AsymmetricSpec];
    const curve = how.type === 'ec' ? how.namedCurve : undefined;
    const details = peer.asymmetricKeyDetails as { namedCurve?: string } | undefined;
    if (peer.asymmetricKeyType !== 'ec' || details?.namedCurve !== curve) {
      throw kmsError.validation(`PublicKey must be an EC public key on the key's curve (${key.keySpec}).`);
    }
    const privateKey = createPrivateKey({ key: Buffer.from(key.material, 'base64'), format: 'der', type: 'pkcs8' });
    const secret = new Uint8Array(diffieHellman({ privateKey, publicKey: peer }));
    return { KeyId: keyArn(ctx, key.keyId), KeyAgreementAlgorithm: 'ECDH', KeyOrigin: 'AWS_KMS', ...secretAnswer('DeriveSharedSecret', secret, recipient) };
  },
};
