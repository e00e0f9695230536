import { createHash, randomBytes } from 'node:crypto';
import {
  encryptionContext,
  grantTokens,
  KEY_ID_MAX,
  kmsError,
  type KmsRequestBody as Body,
  optionalBoolean,
  optionalString,
  requireString,
} from '@nitro-datakey/shared';
import { policyCaller, principalMatch } from '@nitro-datakey/shared/policy';
import type { StoredGrant, StoredKey } from '../keystore.js';
import { authorize, authorizeWithoutKey } from './authorization.js';
import { keyArn, type Operation, type OperationContext, seconds } from './context.js';
import { keyIdParam, resolveKey } from './keys.js';
import { page } from './params.js';

/** The operations a grant may allow (AWS API model: GrantOperation). */
const GRANT_OPERATIONS = [
  'Decrypt',
  'Encrypt',
  'GenerateDataKey',
  'GenerateDataKeyWithoutPlaintext',
  'ReEncryptFrom',
  'ReEncryptTo',
  'Sign',
  'Verify',
  'GetPublicKey',
  'CreateGrant',
  'RetireGrant',
  'DescribeKey',
  'GenerateDataKeyPair',
  'GenerateDataKeyPairWithoutPlaintext',
  'GenerateMac',
  'VerifyMac',
  'DeriveSharedSecret',
] as const;

function operationsParam(body: Body): string[] {
  const operations = body['Operations'];
  if (!Array.isArray(operations) || operations.length === 0)
    throw kmsError.validation(
      "1 validation error detected: Value at 'operations' failed to satisfy constraint: Member must have length greater than or equal to 1",
    );
  for (const op of operations) {
    if (typeof op !== 'string' || !(GRANT_OPERATIONS as readonly string[]).includes(op))
      throw kmsError.validation(
        `1 validation error detected: Value '${String(op)}' at 'operations' failed to satisfy constraint: ` +
          `Member must satisfy enum value set: [${GRANT_OPERATIONS.join(', ')}]`,
      );
  }
  return [...new Set(operations as string[])];
}

function constraintsParam(body: Body): StoredGrant['constraints'] {
  const c = body['Constraints'];
  if (c === undefined || c === null) return undefined;
  if (typeof c !== 'object' || Array.isArray(c)) throw kmsError.serialization('Constraints must be an object');
  const raw = c as Body;
  for (const k of Object.keys(raw))
    if (k !== 'EncryptionContextSubset' && k !== 'EncryptionContextEquals') throw kmsError.serialization(`Constraints has no member ${k}`);
  const subset = raw['EncryptionContextSubset'] === undefined ? undefined : encryptionContext(raw, 'EncryptionContextSubset');
  const equals = raw['EncryptionContextEquals'] === undefined ? undefined : encryptionContext(raw, 'EncryptionContextEquals');
  return { ...(subset ? { EncryptionContextSubset: subset } : {}), ...(equals ? { EncryptionContextEquals: equals } : {}) };
}

const principalParam = (body: Body, name: string): string => {
  const value = requireString(body, name, 1, 256);
  if (!/^(arn:aws[a-z-]*:(iam|sts)::\d{12}:.+|\*|[a-z0-9.-]+\.amazonaws\.com)$/.test(value))
    throw kmsError.validation(`${name} is not a valid principal: ${value}`);
  return value;
};

function grantEntry(ctx: OperationContext, key: StoredKey, g: StoredGrant): Record<string, unknown> {
  return {
    KeyId: keyArn(ctx, key.keyId),
    GrantId: g.grantId,
    ...(g.name ? { Name: g.name } : {}),
    CreationDate: seconds(g.creationDate),
    GranteePrincipal: g.granteePrincipal,
    ...(g.retiringPrincipal ? { RetiringPrincipal: g.retiringPrincipal } : {}),
    IssuingAccount: `arn:aws:iam::${g.issuingAccount}:root`,
    Operations: g.operations,
    ...(g.constraints ? { Constraints: g.constraints } : {}),
  };
}

/** The grant a RetireGrant names: by its token, or by key and grant id. */
function grantToRetire(ctx: OperationContext, body: Body): { key: StoredKey; grant: StoredGrant } {
  const token = optionalString(body, 'GrantToken', 1, 8192);
  const keyId = optionalString(body, 'KeyId', 1, KEY_ID_MAX);
  const grantId = optionalString(body, 'GrantId', 1, 128);
  for (const key of token !== undefined ? ctx.store.keys.values() : keyId !== undefined ? [resolveKey(ctx, keyId)] : []) {
    const grant = key.grants?.find((g) => (token !== undefined ? g.grantToken === token : g.grantId === grantId));
    if (grant) return { key, grant };
  }
  if (token === undefined && (keyId === undefined || grantId === undefined))
    throw kmsError.validation('Either GrantToken or KeyId and GrantId must be specified.');
  throw kmsError.notFound('Grant not found');
}

async function removeGrant(ctx: OperationContext, key: StoredKey, grant: StoredGrant): Promise<void> {
  await ctx.store.commit(() => {
    key.grants = (key.grants ?? []).filter((g) => g.grantId !== grant.grantId);
    if (key.grants.length === 0) delete key.grants;
  });
}

/** Grants: who else may use a key, for which operations, until retired or revoked (KMS Developer Guide "Grants in AWS KMS"). */
export const GRANT_OPERATIONS_SERVED: Readonly<Record<string, Operation>> = {
  async CreateGrant(body, ctx) {
    const key = resolveKey(ctx, keyIdParam(body));
    const granteePrincipal = principalParam(body, 'GranteePrincipal');
    const retiringPrincipal = body['RetiringPrincipal'] === undefined ? undefined : principalParam(body, 'RetiringPrincipal');
    const operations = operationsParam(body);
    const constraints = constraintsParam(body);
    const name = optionalString(body, 'Name', 1, 256);
    grantTokens(body);
    const conditions = new Map<string, string | readonly string[]>([
      ['kms:grantoperations', operations],
      ['kms:granteeprincipal', granteePrincipal],
      ...(retiringPrincipal ? [['kms:retiringprincipal', retiringPrincipal] as const] : []),
    ]);
    authorize(ctx, key, 'CreateGrant', conditions);
    if (optionalBoolean(body, 'DryRun')) throw kmsError.dryRun();
    // A Name makes CreateGrant idempotent: the same request returns the same grant.
    const same = name === undefined ? undefined : key.grants?.find((g) => g.name === name && g.granteePrincipal === granteePrincipal);
    if (same) return { GrantId: same.grantId, GrantToken: same.grantToken };
    const grantId = createHash('sha256').update(randomBytes(32)).digest('hex');
    const grant: StoredGrant = {
      grantId,
      grantToken: randomBytes(48).toString('base64url'),
      ...(name ? { name } : {}),
      granteePrincipal,
      ...(retiringPrincipal ? { retiringPrincipal } : {}),
      operations,
      ...(constraints ? { constraints } : {}),
      creationDate: ctx.clock().getTime(),
      issuingAccount: ctx.account,
    };
    await ctx.store.commit(() => {
      key.grants = [...(key.grants ?? []), grant];
    });
    return { GrantId: grant.grantId, GrantToken: grant.grantToken };
  },

  ListGrants(body, ctx) {
    const key = resolveKey(ctx, keyIdParam(body));
    const grantId = optionalString(body, 'GrantId', 1, 128);
    const grantee = optionalString(body, 'GranteePrincipal', 1, 256);
    authorize(ctx, key, 'ListGrants');
    const all = (key.grants ?? []).filter((g) => (grantId === undefined || g.grantId === grantId) && (grantee === undefined || g.granteePrincipal === grantee));
    const { items, truncated, next } = page(all, body, (g) => g.grantId);
    return { Grants: items.map((g) => grantEntry(ctx, key, g)), Truncated: truncated, ...(next ? { NextMarker: next } : {}) };
  },

  ListRetirableGrants(body, ctx) {
    const retiring = principalParam(body, 'RetiringPrincipal');
    authorizeWithoutKey(ctx, 'ListRetirableGrants');
    const all = [...ctx.store.keys.values()].flatMap((key) => (key.grants ?? []).filter((g) => g.retiringPrincipal === retiring).map((g) => ({ key, g })));
    const { items, truncated, next } = page(all, body, ({ g }) => g.grantId);
    return { Grants: items.map(({ key, g }) => grantEntry(ctx, key, g)), Truncated: truncated, ...(next ? { NextMarker: next } : {}) };
  },

  /** The retiring principal, a grantee granted RetireGrant, or the account's root may retire a grant. */
  async RetireGrant(body, ctx) {
    const { key, grant } = grantToRetire(ctx, body);
    const caller = policyCaller(ctx.principalArn);
    const may =
      (grant.retiringPrincipal !== undefined && principalMatch(grant.retiringPrincipal, caller) === 'direct') ||
      (grant.operations.includes('RetireGrant') && principalMatch(grant.granteePrincipal, caller) === 'direct') ||
      (caller.isRoot && caller.account === grant.issuingAccount);
    if (!may) throw kmsError.accessDenied(`User: ${ctx.principalArn} is not authorized to perform: kms:RetireGrant on resource: ${keyArn(ctx, key.keyId)}`);
    if (optionalBoolean(body, 'DryRun')) throw kmsError.dryRun();
    await removeGrant(ctx, key, grant);
    return {};
  },

  async RevokeGrant(body, ctx) {
    const key = resolveKey(ctx, keyIdParam(body));
    const grantId = requireString(body, 'GrantId', 1, 128);
    authorize(ctx, key, 'RevokeGrant');
    const grant = key.grants?.find((g) => g.grantId === grantId);
    if (!grant) throw kmsError.notFound(`Grant ${grantId} does not exist on ${keyArn(ctx, key.keyId)}`);
    if (optionalBoolean(body, 'DryRun')) throw kmsError.dryRun();
    await removeGrant(ctx, key, grant);
    return {};
  },
};
