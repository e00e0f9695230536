import { InvalidArgumentError, isKeyArn } from '@nitro-datakey/shared';
import { AttestedKmsError } from '../errors.js';

/*
 * Key pinning for every KMS operation, attested or not. The parent serves the enclave's credentials,
 * so it chooses the account: an alias or a bare key id means whatever the parent's account says it
 * means. Every member of a request that names a key is therefore replaced by the full key ARN the
 * enclave was configured with (allowedKeys) before anything is sent, a name outside allowedKeys is
 * refused, and every member of the answer that names a key must name that same ARN.
 */

/** The request members that name a KMS key, in every operation of the KMS model (test: plugin-key-table). */
const KEY_INPUT_MEMBERS = ['KeyId', 'SourceKeyId', 'DestinationKeyId', 'TargetKeyId'] as const;
type KeyInputMember = (typeof KEY_INPUT_MEMBERS)[number];

/**
 * Operations where leaving the key out lets the ciphertext choose it: the enclave names the key itself
 * (the only allowed one, or a refusal).
 */
const KEY_CHOSEN_BY_CIPHERTEXT: Readonly<Record<string, KeyInputMember>> = { Decrypt: 'KeyId', ReEncrypt: 'SourceKeyId' };

/**
 * Operations whose answer depends on the key and always names it (KeyId): an answer without one is refused.
 * ReEncrypt's KeyId is the destination key; its source key comes back as SourceKeyId.
 */
const ANSWER_NAMES_KEY = new Set([
  'Encrypt',
  'Decrypt',
  'ReEncrypt',
  'GenerateDataKey',
  'GenerateDataKeyWithoutPlaintext',
  'GenerateDataKeyPair',
  'GenerateDataKeyPairWithoutPlaintext',
  'GenerateMac',
  'VerifyMac',
  'Sign',
  'Verify',
  'GetPublicKey',
  'DeriveSharedSecret',
  'Encapsulate',
  'Decapsulate',
]);

/** Resolves the key ARN an answer about `keyId` must name (one rule for the plugin and every client on it). */
export function keyArnResolver(allowedKeys?: Readonly<Record<string, string>>): (keyId: string | undefined) => string {
  let allowed: Map<string, string> | undefined;
  if (allowedKeys) {
    allowed = new Map();
    for (const [name, arn] of Object.entries(allowedKeys)) {
      if (!isKeyArn(arn)) throw new InvalidArgumentError(`allowedKeys[${JSON.stringify(name)}] must be a full KMS key ARN, got ${JSON.stringify(arn)}`);
      allowed.set(name, arn);
      allowed.set(arn, arn);
    }
  }
  return (keyId) => {
    if (keyId === undefined) {
      const arns = new Set(allowed?.values() ?? []);
      if (arns.size === 1) return [...arns][0] as string;
      throw new AttestedKmsError('ERR_KMS_WRONG_KEY', 'give the KeyId this call expects: without it, the ciphertext alone would choose the key');
    }
    if (allowed) {
      const arn = allowed.get(keyId);
      if (arn === undefined) throw new AttestedKmsError('ERR_KMS_WRONG_KEY', `KeyId ${keyId} is not one of the keys this client may use (allowedKeys)`);
      return arn;
    }
    if (isKeyArn(keyId)) return keyId;
    throw new AttestedKmsError(
      'ERR_KMS_WRONG_KEY',
      `KeyId ${keyId} is not a full key ARN and no ARN is configured for it (allowedKeys): ` +
        'the parent serves the credentials, so an alias or key id could name a key in its own account',
    );
  };
}

/** The pinned ARN of each key member of one request. */
export type PinnedKeys = Partial<Record<KeyInputMember, string>>;

/**
 * The request with every key member replaced by its pinned ARN, and what was pinned. Throws
 * ERR_KMS_WRONG_KEY, before anything is sent, for a key outside allowedKeys or a key member that is
 * not a string.
 */
export function pinRequestKeys(
  operation: string,
  input: Readonly<Record<string, unknown>>,
  resolve: (keyId: string | undefined) => string,
): { readonly sent: Record<string, unknown>; readonly pinned: PinnedKeys } {
  const sent: Record<string, unknown> = { ...input };
  const pinned: PinnedKeys = {};
  for (const member of KEY_INPUT_MEMBERS) {
    const value = input[member];
    // An empty string is no key name: it would reach KMS as "absent" or a validation error, never a pinned key.
    const absent = value === undefined || value === null || value === '';
    if (absent && KEY_CHOSEN_BY_CIPHERTEXT[operation] !== member) continue;
    if (!absent && typeof value !== 'string') throw new AttestedKmsError('ERR_KMS_WRONG_KEY', `${operation} ${member} must be a string, got ${typeof value}`);
    const arn = resolve(absent ? undefined : (value as string));
    pinned[member] = arn;
    sent[member] = arn;
  }
  return { sent, pinned };
}

/** Every key the answer names must be the one pinned for that member: the parent chose the account. */
export function checkAnswerKeys(operation: string, pinned: PinnedKeys, output: Readonly<Record<string, unknown>>): void {
  // ReEncrypt answers with the destination key as KeyId; every other operation with the key it was given.
  const expectedKeyId = operation === 'ReEncrypt' ? pinned.DestinationKeyId : pinned.KeyId;
  if (expectedKeyId !== undefined) {
    expectKey(operation, 'KeyId', output['KeyId'], expectedKeyId, ANSWER_NAMES_KEY.has(operation));
  }
  if (pinned.SourceKeyId !== undefined) expectKey(operation, 'SourceKeyId', output['SourceKeyId'], pinned.SourceKeyId, true);
  if (pinned.KeyId !== undefined) {
    checkMetadata(operation, 'KeyMetadata', output['KeyMetadata'], pinned.KeyId, operation === 'DescribeKey', true);
    // A replica lives in another region: same key id, another ARN.
    checkMetadata(operation, 'ReplicaKeyMetadata', output['ReplicaKeyMetadata'], pinned.KeyId, false, false);
  }
}

function expectKey(operation: string, member: string, answered: unknown, expected: string, required: boolean): void {
  if (answered === undefined || answered === null) {
    if (required) throw new AttestedKmsError('ERR_KMS_WRONG_KEY', `KMS answered ${operation} without ${member === 'KeyId' ? 'a KeyId' : member}`);
    return;
  }
  if (answered !== expected) {
    throw new AttestedKmsError('ERR_KMS_WRONG_KEY', `KMS answered ${operation} with ${member} ${String(answered)}, not the expected ${expected}`);
  }
}

function checkMetadata(operation: string, member: string, metadata: unknown, expectedArn: string, required: boolean, sameArn: boolean): void {
  if (metadata === undefined || metadata === null) {
    if (required) throw new AttestedKmsError('ERR_KMS_WRONG_KEY', `KMS answered ${operation} without ${member}`);
    return;
  }
  const { Arn, KeyId } = metadata as { Arn?: unknown; KeyId?: unknown };
  const expectedId = expectedArn.slice(expectedArn.lastIndexOf('/') + 1);
  const arnOk = sameArn ? Arn === expectedArn : typeof Arn === 'string' && Arn.endsWith(`:key/${expectedId}`);
  if (!arnOk || KeyId !== expectedId) {
    throw new AttestedKmsError('ERR_KMS_WRONG_KEY', `KMS answered ${operation} about ${String(Arn ?? KeyId)}, not the expected ${expectedArn}`);
  }
}
