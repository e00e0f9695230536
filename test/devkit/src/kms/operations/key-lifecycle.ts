import { randomBytes } from 'node:crypto';
import {
  grantTokens,
  kmsError,
  KmsServiceException,
  type KmsRequestBody,
  optionalBoolean,
  optionalEnum,
  optionalInteger,
  optionalString,
} from '@nitro-datakey/shared';
import { tagConditions } from '@nitro-datakey/shared/policy';
import { authorize, authorizeWithoutKey, policyParam, requestCondition } from './authorization.js';
import { keyArn, type Operation, seconds } from './context.js';
import { keyIdParam, keyMetadata, resolveKey } from './keys.js';
import { page, tagList } from './params.js';
import { AGREEMENT_SPECS, type AsymmetricSpec, MAC_SPECS, type MacSpec, newKeyPair, SIGNING_SPECS } from './key-specs.js';

/** Keys: creation, description, listing, enabling and disabling, deletion and its cancellation. */
export const KEY_LIFECYCLE_OPERATIONS: Readonly<Record<string, Operation>> = {
  async CreateKey(body, ctx) {
    const description = optionalString(body, 'Description', 0, 8192) ?? '';
    const { usage, spec, agreement, signing, mac } = requestedKind(body);
    // CreateKey's own condition keys: what the key will be, and the tags it is created with.
    requestCondition(ctx, 'kms:KeySpec', spec ?? 'SYMMETRIC_DEFAULT');
    requestCondition(ctx, 'kms:KeyUsage', usage ?? 'ENCRYPT_DECRYPT');
    requestCondition(ctx, 'kms:KeyOrigin', 'AWS_KMS');
    requestCondition(ctx, 'kms:BypassPolicyLockoutSafetyCheck', String(optionalBoolean(body, 'BypassPolicyLockoutSafetyCheck') === true));
    const requestTags = tagList(body);
    if (requestTags.length > 0) for (const [name, value] of tagConditions({}, Object.fromEntries(requestTags))) requestCondition(ctx, name, value);
    authorizeWithoutKey(ctx, 'CreateKey');
    let key = ctx.store.newKey('', description, ctx.clock().getTime());
    if (agreement || signing) {
      const pair = await newKeyPair(spec as AsymmetricSpec);
      key = {
        ...key,
        keyUsage: agreement ? 'KEY_AGREEMENT' : 'SIGN_VERIFY',
        keySpec: spec as AsymmetricSpec,
        material: Buffer.from(pair.privateKey).toString('base64'),
        publicKey: Buffer.from(pair.publicKey).toString('base64'),
      };
    }
    if (mac)
      key = { ...key, keyUsage: 'GENERATE_VERIFY_MAC', keySpec: spec as MacSpec, material: randomBytes(MAC_SPECS[spec as MacSpec].bytes).toString('base64') };
    key.policy = policyParam(body, ctx, false, keyArn(ctx, key.keyId));
    if (requestTags.length > 0) key.tags = Object.fromEntries(requestTags);
    await ctx.store.commit(() => ctx.store.keys.set(key.keyId, key));
    return { KeyMetadata: keyMetadata(ctx, key) };
  },
  DescribeKey(body, ctx) {
    const key = resolveKey(ctx, keyIdParam(body));
    grantTokens(body);
    authorize(ctx, key, 'DescribeKey');
    return { KeyMetadata: keyMetadata(ctx, key) };
  },
  ListKeys(body, ctx) {
    const { items, truncated, next } = page([...ctx.store.keys.values()], body, (k) => k.keyId);
    return { Keys: items.map((k) => ({ KeyId: k.keyId, KeyArn: keyArn(ctx, k.keyId) })), Truncated: truncated, ...(next ? { NextMarker: next } : {}) };
  },
  async EnableKey(body, ctx) {
    const key = resolveKey(ctx, keyIdParam(body));
    authorize(ctx, key, 'EnableKey');
    if (key.state === 'PendingDeletion') throw kmsError.pendingDeletion(keyArn(ctx, key.keyId));
    await ctx.store.commit(() => {
      key.state = 'Enabled';
    });
    return {};
  },
  async DisableKey(body, ctx) {
    const key = resolveKey(ctx, keyIdParam(body));
    authorize(ctx, key, 'DisableKey');
    if (key.state === 'PendingDeletion') throw kmsError.pendingDeletion(keyArn(ctx, key.keyId));
    await ctx.store.commit(() => {
      key.state = 'Disabled';
    });
    return {};
  },
  async ScheduleKeyDeletion(body, ctx) {
    const days = optionalInteger(body, 'PendingWindowInDays', 7, 30) ?? 30;
    const key = resolveKey(ctx, keyIdParam(body));
    requestCondition(ctx, 'kms:ScheduleKeyDeletionPendingWindowInDays', String(days));
    authorize(ctx, key, 'ScheduleKeyDeletion');
    if (key.state === 'PendingDeletion') throw kmsError.pendingDeletion(keyArn(ctx, key.keyId));
    const deletionDate = ctx.clock().getTime() + days * 86_400_000;
    await ctx.store.commit(() => {
      key.state = 'PendingDeletion';
      key.deletionDate = deletionDate;
      key.pendingWindowInDays = days;
    });
    return { KeyId: keyArn(ctx, key.keyId), DeletionDate: seconds(deletionDate), KeyState: 'PendingDeletion', PendingWindowInDays: days };
  },
  async CancelKeyDeletion(body, ctx) {
    const key = resolveKey(ctx, keyIdParam(body));
    authorize(ctx, key, 'CancelKeyDeletion');
    if (key.state !== 'PendingDeletion') throw kmsError.invalidState(`${keyArn(ctx, key.keyId)} is not pending deletion.`);
    await ctx.store.commit(() => {
      key.state = 'Disabled'; // as in KMS: a key whose deletion is cancelled comes back disabled
      delete key.deletionDate;
      delete key.pendingWindowInDays;
    });
    return { KeyId: keyArn(ctx, key.keyId) };
  },
};

/**
 * CustomKeyStoreId and XksKeyId: the local KMS has no custom key store, so any id names one that does not
 * exist (AWS's answer for an unknown store), and an XksKeyId has no store to live in.
 */
function customKeyStoreParams(body: KmsRequestBody): void {
  const store = optionalString(body, 'CustomKeyStoreId', 1, 64);
  const xksKeyId = optionalString(body, 'XksKeyId', 1, 128);
  if (store !== undefined) throw new KmsServiceException('CustomKeyStoreNotFoundException', `Custom key store ${store} does not exist.`);
  if (xksKeyId !== undefined)
    throw kmsError.validation('XksKeyId is valid only for a key in an external key store (CustomKeyStoreId and Origin EXTERNAL_KEY_STORE).');
}

/** What kind of key CreateKey asks for: its usage and spec, checked against the kinds the local KMS makes. */
function requestedKind(body: KmsRequestBody) {
  const usage = optionalEnum(body, 'KeyUsage', ['ENCRYPT_DECRYPT', 'SIGN_VERIFY', 'GENERATE_VERIFY_MAC', 'KEY_AGREEMENT'] as const);
  const spec = optionalString(body, 'KeySpec', 1, 64) ?? optionalString(body, 'CustomerMasterKeySpec', 1, 64);
  const origin = optionalString(body, 'Origin', 1, 64);
  customKeyStoreParams(body);
  const agreement = usage === 'KEY_AGREEMENT';
  const signing = usage === 'SIGN_VERIFY';
  const mac = usage === 'GENERATE_VERIFY_MAC';
  if (mac && (spec === undefined || !Object.hasOwn(MAC_SPECS, spec))) {
    throw kmsError.validation(`KeySpec ${spec ?? '(none)'} is not valid for KeyUsage GENERATE_VERIFY_MAC: use ${Object.keys(MAC_SPECS).join(', ')}.`);
  }
  if (signing && !(SIGNING_SPECS as readonly string[]).includes(spec ?? '')) {
    throw kmsError.validation(`KeySpec ${spec ?? '(none)'} is not valid for KeyUsage SIGN_VERIFY: use ${SIGNING_SPECS.join(', ')}.`);
  }
  if (agreement && !(AGREEMENT_SPECS as readonly string[]).includes(spec ?? '')) {
    // AWS: KEY_AGREEMENT takes an ECC key spec (SM2 in China Regions only).
    throw kmsError.validation(`KeySpec ${spec ?? '(none)'} is not valid for KeyUsage KEY_AGREEMENT: use ${AGREEMENT_SPECS.join(', ')}.`);
  }
  const symmetric = !agreement && !signing && !mac;
  if (
    (symmetric && ((usage && usage !== 'ENCRYPT_DECRYPT') || (spec && spec !== 'SYMMETRIC_DEFAULT'))) ||
    (origin && origin !== 'AWS_KMS') ||
    optionalBoolean(body, 'MultiRegion')
  ) {
    throw kmsError.unsupported(
      'nitro-kms-local supports symmetric encryption keys (SYMMETRIC_DEFAULT, ENCRYPT_DECRYPT), ECC key-agreement keys ' +
        '(KEY_AGREEMENT), RSA or ECC signing keys (SIGN_VERIFY) and HMAC keys (GENERATE_VERIFY_MAC), AWS_KMS origin, single-Region, only.',
    );
  }
  return { usage, spec, agreement, signing, mac };
}
