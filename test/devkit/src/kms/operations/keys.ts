import { createHash } from 'node:crypto';
import { KEY_ID_MAX, kmsError, KmsServiceException, type KmsRequestBody as Body, requireString } from '@nitro-datakey/shared';
import type { StoredKey } from '../keystore.js';
import { aliasArn, keyArn, type OperationContext, seconds } from './context.js';
import { MAC_SPECS, type MacSpec, signingAlgorithmsFor } from './key-specs.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Key id, key ARN, alias name or alias ARN -> the key. */
export function resolveKey(ctx: OperationContext, id: string): StoredKey {
  let rest = id;
  if (id.startsWith('arn:')) {
    const m = /^arn:aws:kms:([^:]+):(\d{12}):((?:key|alias)\/.+)$/.exec(id);
    if (!m) throw kmsError.notFound(`Invalid arn ${id}`);
    if (m[1] !== ctx.region || m[2] !== ctx.account) throw kmsError.notFound(`Key '${id}' does not exist`);
    rest = m[3] as string;
    if (rest.startsWith('key/')) rest = rest.slice(4);
  }
  if (rest.startsWith('alias/')) {
    const alias = ctx.store.aliases.get(rest);
    if (!alias) throw kmsError.notFound(`Alias ${aliasArn(ctx, rest)} is not found.`);
    // kms:RequestAlias: the alias the request named its key by (the first one, as for ReEncrypt's source).
    if (ctx.request && ctx.request.alias === undefined) ctx.request.alias = rest;
    return ctx.store.keys.get(alias.targetKeyId) ?? missingKey(ctx, alias.targetKeyId);
  }
  if (!UUID.test(rest)) throw kmsError.notFound(`Invalid keyId '${id}'`);
  return ctx.store.keys.get(rest) ?? missingKey(ctx, rest);
}

function missingKey(ctx: OperationContext, keyId: string): never {
  throw kmsError.notFound(`Key '${keyArn(ctx, keyId)}' does not exist`);
}

export function keyIdParam(body: Body, name = 'KeyId'): string {
  return requireString(body, name, 1, KEY_ID_MAX);
}

export function requireUsable(ctx: OperationContext, key: StoredKey): void {
  if (key.state === 'Disabled') throw kmsError.disabled(keyArn(ctx, key.keyId));
  if (key.state === 'PendingDeletion') throw kmsError.pendingDeletion(keyArn(ctx, key.keyId));
}

/** A key used for what its KeyUsage does not cover: InvalidKeyUsageException, as AWS answers. */
export function requireKeyUsage(
  ctx: OperationContext,
  key: StoredKey,
  usage: 'ENCRYPT_DECRYPT' | 'KEY_AGREEMENT' | 'SIGN_VERIFY' | 'GENERATE_VERIFY_MAC',
): void {
  if ((key.keyUsage ?? 'ENCRYPT_DECRYPT') !== usage) {
    throw new KmsServiceException(
      'InvalidKeyUsageException',
      `${keyArn(ctx, key.keyId)} key usage is ${key.keyUsage ?? 'ENCRYPT_DECRYPT'} which is not valid for this operation.`,
    );
  }
}

/** Rotation is for symmetric encryption keys (AWS: UnsupportedOperationException otherwise). */
export function requireSymmetricForRotation(ctx: OperationContext, key: StoredKey): void {
  if ((key.keyUsage ?? 'ENCRYPT_DECRYPT') !== 'ENCRYPT_DECRYPT') {
    throw kmsError.unsupported(`${keyArn(ctx, key.keyId)} key usage is ${key.keyUsage} which is not valid for key rotation.`);
  }
}

export function keyMetadata(ctx: OperationContext, key: StoredKey): Record<string, unknown> {
  return {
    AWSAccountId: ctx.account,
    KeyId: key.keyId,
    Arn: keyArn(ctx, key.keyId),
    CreationDate: seconds(key.creationDate),
    Enabled: key.state === 'Enabled',
    Description: key.description,
    KeyUsage: key.keyUsage ?? 'ENCRYPT_DECRYPT',
    KeyState: key.state,
    ...(key.deletionDate !== undefined ? { DeletionDate: seconds(key.deletionDate), PendingDeletionWindowInDays: key.pendingWindowInDays } : {}),
    Origin: 'AWS_KMS',
    KeyManager: 'CUSTOMER',
    CustomerMasterKeySpec: key.keySpec ?? 'SYMMETRIC_DEFAULT',
    KeySpec: key.keySpec ?? 'SYMMETRIC_DEFAULT',
    // The current key material of a symmetric key (AWS: present for AWS_KMS-origin symmetric keys).
    ...(key.keyUsage === undefined || key.keyUsage === 'ENCRYPT_DECRYPT' ? { CurrentKeyMaterialId: currentMaterialId(key) } : {}),
    ...usageAlgorithms(key),
    MultiRegion: false,
  };
}

/**
 * AWS returns KeyMaterialId (64 lowercase hex) for symmetric operations and omits it when the request has a
 * Recipient. Ours is a digest of key id and material version: stable, distinct per rotation, and reveals nothing.
 */
export function keyMaterialId(keyId: string, materialVersion: number): string {
  return createHash('sha256').update(`${keyId}:${materialVersion}`).digest('hex');
}

export const currentMaterialId = (key: StoredKey): string => keyMaterialId(key.keyId, key.previousMaterials?.length ?? 0);

/** The algorithms a key's metadata lists for its usage. */
export function usageAlgorithms(key: StoredKey): Record<string, string[]> {
  if (key.keyUsage === 'KEY_AGREEMENT') return { KeyAgreementAlgorithms: ['ECDH'] };
  if (key.keyUsage === 'SIGN_VERIFY') return { SigningAlgorithms: signingAlgorithmsFor(key.keySpec ?? '') };
  if (key.keyUsage === 'GENERATE_VERIFY_MAC') return { MacAlgorithms: [MAC_SPECS[key.keySpec as MacSpec].algorithm] };
  return { EncryptionAlgorithms: ['SYMMETRIC_DEFAULT'] };
}
