import { createHash, createPrivateKey, createPublicKey, diffieHellman, generateKeyPair as generateKeyPairCb, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import {
  type AttestationVerifier,
  encryptionContext,
  grantTokens,
  KEY_ID_MAX,
  KEY_PAIR_SPECS,
  type KeyPairSpec,
  kmsError,
  KmsServiceException,
  type KmsRequestBody as Body,
  optionalBoolean,
  optionalEnum,
  optionalInteger,
  optionalString,
  parseDecryptRequest,
  parseDeriveSharedSecretRequest,
  parseGenerateDataKeyPairRequest,
  parseGenerateDataKeyRequest,
  parseGenerateRandomRequest,
  type RecipientField,
  requireBlob,
  requireString,
  toBase64 as b64,
} from '@nitro-datakey/shared';
import { buildCiphertextForRecipient } from '@nitro-datakey/shared/testing';
import { openBlob, parseBlob, sealBlob } from './ciphertext-blob.js';
import type { KeyStore, StoredAlias, StoredKey } from './keystore.js';
import { defaultKeyPolicy, evaluatePolicy, explainPolicy, parsedPolicy, roleOfSession } from './policy.js';
import { verifyRecipient, type VerifiedRecipient } from './recipient.js';
import type { FaultConfig, FaultKind } from './faults.js';

const generateKeyPair = promisify(generateKeyPairCb);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ALIAS_NAME = /^alias\/[a-zA-Z0-9/_-]+$/;
const CURVES: Partial<Record<KeyPairSpec, string>> = {
  ECC_NIST_P256: 'prime256v1',
  ECC_NIST_P384: 'secp384r1',
  ECC_NIST_P521: 'secp521r1',
  ECC_SECG_P256K1: 'secp256k1',
};

/** Everything an operation needs about the server and the caller. */
export interface OperationContext {
  readonly store: KeyStore;
  readonly region: string;
  readonly account: string;
  readonly verifier: AttestationVerifier;
  readonly clock: () => Date;
  readonly principalArn: string;
  /**
   * IAM-style identity policies by principal ARN, for what no key policy covers (CreateKey,
   * GenerateRandom). Undefined: those actions are open to every caller, as before any IAM is modelled.
   */
  readonly iamPolicies?: ReadonlyMap<string, readonly string[]>;
  /** Filled in as the operation runs, for the audit trail (no key material ever goes in). */
  readonly audit?: AuditFacts;
  /** Refuse Recipient keys other than RSA-2048 (see KmsServerOptions.recipientRsa2048Only). */
  readonly recipientRsa2048Only?: boolean;
}

/** What an operation found out that CloudTrail would record: the key, the attestation, the decision. */
export interface AuditFacts {
  keyArn?: string;
  recipient?: { moduleId: string; pcrs: Record<string, string>; debug: boolean };
  decision?: { effect: 'Allow' | 'ExplicitDeny' | 'ImplicitDeny'; statement?: string };
  /** A fault the server injected into this request (not in CloudTrail: the local KMS's own field). */
  injectedFault?: FaultKind | NonNullable<FaultConfig['attested']>;
}

export type Operation = (body: Body, ctx: OperationContext) => Promise<Record<string, unknown>> | Record<string, unknown>;

const keyArn = (ctx: OperationContext, keyId: string): string => `arn:aws:kms:${ctx.region}:${ctx.account}:key/${keyId}`;
const aliasArn = (ctx: OperationContext, name: string): string => `arn:aws:kms:${ctx.region}:${ctx.account}:${name}`;
const seconds = (ms: number): number => Math.floor(ms / 1000);

/** Key id, key ARN, alias name or alias ARN -> the key. */
function resolveKey(ctx: OperationContext, id: string): StoredKey {
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
    return ctx.store.keys.get(alias.targetKeyId) ?? missingKey(ctx, alias.targetKeyId);
  }
  if (!UUID.test(rest)) throw kmsError.notFound(`Invalid keyId '${id}'`);
  return ctx.store.keys.get(rest) ?? missingKey(ctx, rest);
}

function missingKey(ctx: OperationContext, keyId: string): never {
  throw kmsError.notFound(`Key '${keyArn(ctx, keyId)}' does not exist`);
}

/** Key policy check: explicit deny wins, no allow is a denial. */
function authorize(ctx: OperationContext, key: StoredKey, action: string, conditions: ReadonlyMap<string, string | readonly string[]> = new Map()): void {
  const explained = explainPolicy(parsedPolicy(key.policy), {
    principalArn: ctx.principalArn,
    action: `kms:${action}`,
    resourceArn: keyArn(ctx, key.keyId),
    conditions: withCaller(ctx, conditions),
  });
  const decision = explained.decision;
  if (ctx.audit) {
    ctx.audit.keyArn = keyArn(ctx, key.keyId);
    ctx.audit.decision = { effect: decision, ...(explained.statement ? { statement: explained.statement } : {}) };
  }
  if (decision !== 'Allow') {
    const why = decision === 'ExplicitDeny' ? 'with an explicit deny in a resource-based policy' : 'because no resource-based policy allows the';
    throw kmsError.accessDenied(
      `User: ${ctx.principalArn} is not authorized to perform: kms:${action} on resource: ${keyArn(ctx, key.keyId)} ` +
        `${why}${decision === 'ExplicitDeny' ? '' : ` kms:${action} action`}`,
    );
  }
}

/**
 * An action no key policy covers (CreateKey, GenerateRandom): decided by the caller's IAM policies when
 * any are configured, the way AWS decides it (an identity-based policy must allow it).
 */
function authorizeWithoutKey(ctx: OperationContext, action: string, conditions: ReadonlyMap<string, string | readonly string[]> = new Map()): void {
  if (ctx.iamPolicies === undefined) return;
  const policies = ctx.iamPolicies.get(ctx.principalArn) ?? [];
  const request = { principalArn: ctx.principalArn, action: `kms:${action}`, resourceArn: '*', conditions: withCaller(ctx, conditions) };
  const decisions = policies.map((text) => evaluatePolicy(parsedPolicy(text, 'iam'), request));
  if (decisions.includes('ExplicitDeny') || !decisions.includes('Allow')) {
    const why = decisions.includes('ExplicitDeny') ? 'with an explicit deny in an identity-based policy' : 'because no identity-based policy allows the';
    throw kmsError.accessDenied(
      `User: ${ctx.principalArn} is not authorized to perform: kms:${action} ${why}${decisions.includes('ExplicitDeny') ? '' : ` kms:${action} action`}`,
    );
  }
}

/** The condition keys about the caller, beside the request's own. */
function withCaller(ctx: OperationContext, conditions: ReadonlyMap<string, string | readonly string[]>): Map<string, string | readonly string[]> {
  const all = new Map(conditions);
  // For a role session AWS sets aws:PrincipalArn to the role's ARN, not the session's (IAM "AWS global
  // condition context keys"): a policy names the role, whichever session calls.
  all.set('aws:principalarn', roleOfSession(ctx.principalArn) ?? ctx.principalArn);
  const account = ctx.principalArn.split(':')[4];
  if (account) all.set('kms:calleraccount', account);
  return all;
}

function requireUsable(ctx: OperationContext, key: StoredKey): void {
  if (key.state === 'Disabled') throw kmsError.disabled(keyArn(ctx, key.keyId));
  if (key.state === 'PendingDeletion') throw kmsError.pendingDeletion(keyArn(ctx, key.keyId));
}

function contextConditions(context: Readonly<Record<string, string>>, recipient?: VerifiedRecipient): Map<string, string | readonly string[]> {
  const conditions = new Map<string, string | readonly string[]>(recipient?.conditions ?? []);
  for (const [k, v] of Object.entries(context)) conditions.set(`kms:encryptioncontext:${k}`, v);
  if (Object.keys(context).length > 0) conditions.set('kms:encryptioncontextkeys', Object.keys(context));
  return conditions;
}

function keyIdParam(body: Body, name = 'KeyId'): string {
  return requireString(body, name, 1, KEY_ID_MAX);
}

const MAX_TAGS = 50;

/** AWS API model: TagKey 1-128 characters, TagValue 0-256; the `aws:` prefix is AWS's own. */
function checkTagKey(key: string): void {
  if (key.length < 1 || key.length > 128) throw kmsError.validation(`Tag key must be 1 to 128 characters, got ${key.length}.`);
  if (key.toLowerCase().startsWith('aws:')) throw new KmsServiceException('TagException', 'Tags beginning with aws: are reserved.');
}

/** A request's Tags list as [key, value] pairs, checked; `required` for TagResource. */
function tagList(body: Body, required = false): [string, string][] {
  const tags = body['Tags'];
  if (tags === undefined || tags === null) {
    if (required) throw kmsError.validation("1 validation error detected: Value null at 'tags' failed to satisfy constraint: Member must not be null");
    return [];
  }
  if (!Array.isArray(tags)) throw kmsError.serialization('Tags must be a list');
  if (tags.length > MAX_TAGS) throw new KmsServiceException('LimitExceededException', `A key can have at most ${MAX_TAGS} tags.`);
  return tags.map((t: unknown) => {
    const { TagKey, TagValue } = (typeof t === 'object' && t !== null ? t : {}) as Record<string, unknown>;
    if (typeof TagKey !== 'string' || typeof TagValue !== 'string') throw kmsError.serialization('Each tag needs a string TagKey and TagValue');
    checkTagKey(TagKey);
    if (TagValue.length > 256) throw kmsError.validation(`Tag value must be at most 256 characters, got ${TagValue.length}.`);
    return [TagKey, TagValue];
  });
}

/** The steps every cryptographic operation on a key shares, in KMS's order. */
function prepare(
  ctx: OperationContext,
  key: StoredKey,
  action: string,
  context: Readonly<Record<string, string>>,
  dryRun: boolean,
  recipient?: VerifiedRecipient,
): void {
  authorize(ctx, key, action, contextConditions(context, recipient));
  requireUsable(ctx, key);
  requireKeyUsage(ctx, key, 'ENCRYPT_DECRYPT'); // every operation prepared here is a symmetric one
  if (dryRun) throw kmsError.dryRun();
}

const dryRunParam = (body: Body): boolean => optionalBoolean(body, 'DryRun') === true;

function dataKeyBytes(body: Body): number {
  const spec = optionalEnum(body, 'KeySpec', ['AES_256', 'AES_128'] as const);
  const count = optionalInteger(body, 'NumberOfBytes', 1, 1024);
  if ((spec === undefined) === (count === undefined)) throw kmsError.validation('Please specify either number of bytes or key spec.');
  return count ?? (spec === 'AES_128' ? 16 : 32);
}

function keyMetadata(ctx: OperationContext, key: StoredKey): Record<string, unknown> {
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
    ...(key.keyUsage === 'KEY_AGREEMENT' ? { KeyAgreementAlgorithms: ['ECDH'] } : { EncryptionAlgorithms: ['SYMMETRIC_DEFAULT'] }),
    MultiRegion: false,
  };
}

/** The curves AWS allows for KEY_AGREEMENT keys (outside China), and OpenSSL's names for them. */
const AGREEMENT_CURVES = { ECC_NIST_P256: 'prime256v1', ECC_NIST_P384: 'secp384r1', ECC_NIST_P521: 'secp521r1', ECC_SECG_P256K1: 'secp256k1' } as const;
type AgreementSpec = keyof typeof AGREEMENT_CURVES;

/** Rotation is for symmetric encryption keys (AWS: UnsupportedOperationException otherwise). */
function requireSymmetricForRotation(ctx: OperationContext, key: StoredKey): void {
  if ((key.keyUsage ?? 'ENCRYPT_DECRYPT') !== 'ENCRYPT_DECRYPT') {
    throw kmsError.unsupported(`${keyArn(ctx, key.keyId)} key usage is ${key.keyUsage} which is not valid for key rotation.`);
  }
}

/** A key used for what its KeyUsage does not cover: InvalidKeyUsageException, as AWS answers. */
function requireKeyUsage(ctx: OperationContext, key: StoredKey, usage: 'ENCRYPT_DECRYPT' | 'KEY_AGREEMENT'): void {
  if ((key.keyUsage ?? 'ENCRYPT_DECRYPT') !== usage) {
    throw new KmsServiceException(
      'InvalidKeyUsageException',
      `${keyArn(ctx, key.keyId)} key usage is ${key.keyUsage ?? 'ENCRYPT_DECRYPT'} which is not valid for this operation.`,
    );
  }
}

function page<T>(items: readonly T[], body: Body, id: (item: T) => string): { items: T[]; truncated: boolean; next?: string } {
  const limit = optionalInteger(body, 'Limit', 1, 1000) ?? 100;
  const marker = optionalString(body, 'Marker', 1, 1024);
  let start = 0;
  if (marker !== undefined) {
    start = items.findIndex((item) => id(item) === Buffer.from(marker, 'base64url').toString('utf8'));
    if (start < 0) throw kmsError.invalidMarker();
  }
  const slice = items.slice(start, start + limit);
  const next = items[start + limit];
  return { items: slice, truncated: next !== undefined, ...(next !== undefined ? { next: Buffer.from(id(next), 'utf8').toString('base64url') } : {}) };
}

function aliasNameParam(body: Body): string {
  const name = requireString(body, 'AliasName', 1, 256);
  if (!name.startsWith('alias/'))
    throw kmsError.validation('Alias must start with the prefix "alias/". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html');
  if (!ALIAS_NAME.test(name))
    throw kmsError.validation(
      `1 validation error detected: Value '${name}' at 'aliasName' failed to satisfy constraint: ` +
        'Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$',
    );
  if (name.startsWith('alias/aws/')) throw kmsError.invalidAliasName(`Cannot create alias with prefix 'alias/aws/'`);
  return name;
}

/** An alias may only point at a key, by id or key ARN. */
function aliasTarget(ctx: OperationContext, body: Body): StoredKey {
  const target = keyIdParam(body, 'TargetKeyId');
  if (target.startsWith('alias/') || target.includes(':alias/')) throw kmsError.validation('Aliases must refer to keys. Not aliases');
  return resolveKey(ctx, target);
}

/**
 * The Policy parameter of CreateKey and PutKeyPolicy: parsed strictly, and held to AWS's lockout safety
 * check: the new policy must let the caller call PutKeyPolicy on the key again, unless the request
 * sets BypassPolicyLockoutSafetyCheck (AWS: "the new key policy will not allow you to update the key
 * policy in the future").
 */
function policyParam(body: Body, ctx: OperationContext, required: boolean, resourceArn: string): string {
  const policy = required ? requireString(body, 'Policy', 1, 131072) : optionalString(body, 'Policy', 1, 131072);
  const bypass = optionalBoolean(body, 'BypassPolicyLockoutSafetyCheck') === true;
  if (policy === undefined) return defaultKeyPolicy(ctx.account);
  const statements = parsedPolicy(policy);
  if (!bypass) {
    const decision = evaluatePolicy(statements, {
      principalArn: ctx.principalArn,
      action: 'kms:PutKeyPolicy',
      resourceArn,
      conditions: withCaller(ctx, new Map()),
    });
    if (decision !== 'Allow') throw kmsError.malformedPolicy('The new key policy will not allow you to update the key policy in the future.');
  }
  return policy;
}

async function dataKeyPair(spec: KeyPairSpec): Promise<{ privateKey: Uint8Array; publicKey: Uint8Array }> {
  if (spec === 'SM2') throw kmsError.unsupported('KeyPairSpec SM2 is only supported in China Regions.');
  const curve = CURVES[spec];
  const pair =
    spec === 'ECC_NIST_EDWARDS25519'
      ? await generateKeyPair('ed25519')
      : curve
        ? await generateKeyPair('ec', { namedCurve: curve })
        : await generateKeyPair('rsa', { modulusLength: Number(spec.slice(4)) });
  return {
    privateKey: new Uint8Array(pair.privateKey.export({ format: 'der', type: 'pkcs8' })),
    publicKey: new Uint8Array(pair.publicKey.export({ format: 'der', type: 'spki' })),
  };
}

function readRecipientFor(ctx: OperationContext, recipient: RecipientField | undefined): VerifiedRecipient | undefined {
  if (recipient === undefined) return undefined;
  const verified = verifyRecipient({ document: recipient.attestationDocument }, ctx.verifier, { rsa2048Only: ctx.recipientRsa2048Only === true });
  if (ctx.audit) {
    const pcrs = Object.fromEntries([...verified.document.pcrs].sort(([a], [b]) => a - b).map(([i, v]) => [`PCR${i}`, Buffer.from(v).toString('hex')]));
    ctx.audit.recipient = { moduleId: verified.document.moduleId, pcrs, debug: verified.document.debug };
  }
  return verified;
}

/** The key a blob names; a blob that is not ours, or whose key is gone, is InvalidCiphertextException. */
function decryptBlob(ctx: OperationContext, blobBytes: Uint8Array, keyIdHint?: string): { key: StoredKey; blob: NonNullable<ReturnType<typeof parseBlob>> } {
  const blob = parseBlob(blobBytes);
  if (!blob) throw kmsError.invalidCiphertext();
  const key = ctx.store.keys.get(blob.keyId);
  if (!key) throw kmsError.invalidCiphertext();
  if (keyIdHint !== undefined && resolveKey(ctx, keyIdHint).keyId !== key.keyId) throw kmsError.incorrectKey();
  return { key, blob };
}

/** The key's material history, oldest first: index = material version; the last one is current. */
function materials(key: StoredKey): string[] {
  return [...(key.previousMaterials ?? []), key.material];
}

function open(key: StoredKey, blob: NonNullable<ReturnType<typeof parseBlob>>, context: Readonly<Record<string, string>>): Uint8Array {
  const material = materials(key)[blob.materialVersion];
  if (material === undefined) throw kmsError.invalidCiphertext();
  const plaintext = openBlob(blob, Buffer.from(material, 'base64'), context);
  if (!plaintext) throw kmsError.invalidCiphertext();
  return plaintext;
}

/**
 * AWS returns KeyMaterialId (64 lowercase hex) for symmetric operations and omits it when the request has a
 * Recipient. Ours is a digest of key id and material version: stable, distinct per rotation, and reveals nothing.
 */
function keyMaterialId(keyId: string, materialVersion: number): string {
  return createHash('sha256').update(`${keyId}:${materialVersion}`).digest('hex');
}

const currentMaterialId = (key: StoredKey): string => keyMaterialId(key.keyId, key.previousMaterials?.length ?? 0);

function seal(key: StoredKey, plaintext: Uint8Array, context: Readonly<Record<string, string>>): Uint8Array {
  // Always the newest material: rotation changes what new ciphertexts use, never what old ones need.
  return sealBlob(key.keyId, key.previousMaterials?.length ?? 0, Buffer.from(key.material, 'base64'), plaintext, context);
}

export const OPERATIONS: Readonly<Record<string, Operation>> = {
  async CreateKey(body, ctx) {
    const description = optionalString(body, 'Description', 0, 8192) ?? '';
    const usage = optionalEnum(body, 'KeyUsage', ['ENCRYPT_DECRYPT', 'SIGN_VERIFY', 'GENERATE_VERIFY_MAC', 'KEY_AGREEMENT'] as const);
    const spec = optionalString(body, 'KeySpec', 1, 64) ?? optionalString(body, 'CustomerMasterKeySpec', 1, 64);
    const origin = optionalString(body, 'Origin', 1, 64);
    const agreement = usage === 'KEY_AGREEMENT';
    if (agreement && (spec === undefined || !Object.hasOwn(AGREEMENT_CURVES, spec))) {
      // AWS: KEY_AGREEMENT takes an ECC key spec (SM2 in China Regions only).
      throw kmsError.validation(`KeySpec ${spec ?? '(none)'} is not valid for KeyUsage KEY_AGREEMENT: use ${Object.keys(AGREEMENT_CURVES).join(', ')}.`);
    }
    if (
      (usage && usage !== 'ENCRYPT_DECRYPT' && !agreement) ||
      (!agreement && spec && spec !== 'SYMMETRIC_DEFAULT') ||
      (origin && origin !== 'AWS_KMS') ||
      optionalBoolean(body, 'MultiRegion')
    ) {
      throw kmsError.unsupported(
        'nitro-kms-local supports symmetric encryption keys (SYMMETRIC_DEFAULT, ENCRYPT_DECRYPT) and ECC key-agreement keys ' +
          '(KEY_AGREEMENT), AWS_KMS origin, single-Region, only.',
      );
    }
    authorizeWithoutKey(ctx, 'CreateKey');
    let key = ctx.store.newKey('', description, ctx.clock().getTime());
    if (agreement) {
      const pair = await generateKeyPair('ec', { namedCurve: AGREEMENT_CURVES[spec as AgreementSpec] });
      key = {
        ...key,
        keyUsage: 'KEY_AGREEMENT',
        keySpec: spec as AgreementSpec,
        material: pair.privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64'),
        publicKey: pair.publicKey.export({ format: 'der', type: 'spki' }).toString('base64'),
      };
    }
    key.policy = policyParam(body, ctx, false, keyArn(ctx, key.keyId));
    const tags = tagList(body);
    if (tags.length > 0) key.tags = Object.fromEntries(tags);
    await ctx.store.commit(() => ctx.store.keys.set(key.keyId, key));
    return { KeyMetadata: keyMetadata(ctx, key) };
  },

  async EnableKeyRotation(body, ctx) {
    const key = resolveKey(ctx, keyIdParam(body));
    const period = optionalInteger(body, 'RotationPeriodInDays', 90, 2560) ?? 365;
    authorize(ctx, key, 'EnableKeyRotation');
    requireSymmetricForRotation(ctx, key);
    requireUsable(ctx, key);
    await ctx.store.commit(() => {
      key.rotationPeriodInDays = period;
    });
    return {};
  },

  async DisableKeyRotation(body, ctx) {
    const key = resolveKey(ctx, keyIdParam(body));
    authorize(ctx, key, 'DisableKeyRotation');
    requireSymmetricForRotation(ctx, key);
    requireUsable(ctx, key);
    await ctx.store.commit(() => {
      delete key.rotationPeriodInDays;
    });
    return {};
  },

  GetKeyRotationStatus(body, ctx) {
    const key = resolveKey(ctx, keyIdParam(body));
    authorize(ctx, key, 'GetKeyRotationStatus');
    const enabled = key.rotationPeriodInDays !== undefined;
    const last = key.rotations?.at(-1)?.date ?? key.creationDate;
    return {
      KeyId: keyArn(ctx, key.keyId),
      KeyRotationEnabled: enabled,
      ...(enabled
        ? { RotationPeriodInDays: key.rotationPeriodInDays, NextRotationDate: seconds(last + (key.rotationPeriodInDays as number) * 86_400_000) }
        : {}),
    };
  },

  /** A new key material now: new ciphertexts use it, every earlier one still decrypts (AWS: RotateKeyOnDemand). */
  async RotateKeyOnDemand(body, ctx) {
    const key = resolveKey(ctx, keyIdParam(body));
    authorize(ctx, key, 'RotateKeyOnDemand');
    requireSymmetricForRotation(ctx, key);
    requireUsable(ctx, key);
    const fresh = randomBytes(32).toString('base64');
    const date = ctx.clock().getTime();
    await ctx.store.commit(() => {
      const live = ctx.store.keys.get(key.keyId) as StoredKey;
      live.previousMaterials = [...(live.previousMaterials ?? []), live.material];
      (live as { material: string }).material = fresh;
      live.rotations = [...(live.rotations ?? []), { date, type: 'ON_DEMAND' }];
    });
    return { KeyId: keyArn(ctx, key.keyId) };
  },

  ListKeyRotations(body, ctx) {
    const key = resolveKey(ctx, keyIdParam(body));
    authorize(ctx, key, 'ListKeyRotations');
    requireSymmetricForRotation(ctx, key);
    const all = (key.rotations ?? []).map((r, i) => ({ ...r, i }));
    const { items, truncated, next } = page(all, body, (r) => String(r.i));
    return {
      Rotations: items.map((r) => ({ KeyId: keyArn(ctx, key.keyId), RotationDate: seconds(r.date), RotationType: r.type })),
      Truncated: truncated,
      ...(next ? { NextMarker: next } : {}),
    };
  },

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
      KeyAgreementAlgorithms: ['ECDH'],
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
    const recipient = readRecipientFor(ctx, r.recipient);
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
    const curve = AGREEMENT_CURVES[key.keySpec as AgreementSpec];
    const details = peer.asymmetricKeyDetails as { namedCurve?: string } | undefined;
    if (peer.asymmetricKeyType !== 'ec' || details?.namedCurve !== curve) {
      throw kmsError.validation(`PublicKey must be an EC public key on the key's curve (${key.keySpec}).`);
    }
    const privateKey = createPrivateKey({ key: Buffer.from(key.material, 'base64'), format: 'der', type: 'pkcs8' });
    const secret = new Uint8Array(diffieHellman({ privateKey, publicKey: peer }));
    const base = { KeyId: keyArn(ctx, key.keyId), KeyAgreementAlgorithm: 'ECDH', KeyOrigin: 'AWS_KMS' };
    return recipient
      ? { ...base, CiphertextForRecipient: b64(buildCiphertextForRecipient(secret, recipient.publicKey)) }
      : { ...base, SharedSecret: b64(secret) };
  },

  DescribeKey(body, ctx) {
    const key = resolveKey(ctx, keyIdParam(body));
    authorize(ctx, key, 'DescribeKey');
    return { KeyMetadata: keyMetadata(ctx, key) };
  },

  ListKeys(body, ctx) {
    const { items, truncated, next } = page([...ctx.store.keys.values()], body, (k) => k.keyId);
    return { Keys: items.map((k) => ({ KeyId: k.keyId, KeyArn: keyArn(ctx, k.keyId) })), Truncated: truncated, ...(next ? { NextMarker: next } : {}) };
  },

  async CreateAlias(body, ctx) {
    const name = aliasNameParam(body);
    const key = aliasTarget(ctx, body);
    authorize(ctx, key, 'CreateAlias');
    if (ctx.store.aliases.has(name)) throw kmsError.alreadyExists(`An alias with the name ${aliasArn(ctx, name)} already exists`);
    const alias: StoredAlias = { name, targetKeyId: key.keyId, creationDate: ctx.clock().getTime() };
    await ctx.store.commit(() => ctx.store.aliases.set(name, alias));
    return {};
  },

  async UpdateAlias(body, ctx) {
    const name = aliasNameParam(body);
    const key = aliasTarget(ctx, body);
    const alias = ctx.store.aliases.get(name);
    if (!alias) throw kmsError.notFound(`Alias ${aliasArn(ctx, name)} is not found.`);
    // As AWS: kms:UpdateAlias is needed on the key the alias points at now, and on the new one. Checking
    // only the new one would let anyone with rights on some key re-point the enclave's alias to it.
    const current = ctx.store.keys.get(alias.targetKeyId);
    if (current) authorize(ctx, current, 'UpdateAlias');
    authorize(ctx, key, 'UpdateAlias');
    await ctx.store.commit(() => {
      alias.targetKeyId = key.keyId;
    });
    return {};
  },

  async DeleteAlias(body, ctx) {
    const name = aliasNameParam(body);
    const alias = ctx.store.aliases.get(name);
    if (!alias) throw kmsError.notFound(`Alias ${aliasArn(ctx, name)} is not found.`);
    const key = ctx.store.keys.get(alias.targetKeyId);
    if (key) authorize(ctx, key, 'DeleteAlias');
    else if (ctx.principalArn !== `arn:aws:iam::${ctx.account}:root`) {
      // No key policy to ask: without an IAM model, only the account itself may remove a dangling alias.
      throw kmsError.accessDenied(`User: ${ctx.principalArn} is not authorized to perform: kms:DeleteAlias on resource: ${aliasArn(ctx, name)}`);
    }
    await ctx.store.commit(() => ctx.store.aliases.delete(name));
    return {};
  },

  ListAliases(body, ctx) {
    const keyId = optionalString(body, 'KeyId', 1, KEY_ID_MAX);
    const filter = keyId === undefined ? undefined : resolveKey(ctx, keyId).keyId;
    const all = [...ctx.store.aliases.values()].filter((a) => filter === undefined || a.targetKeyId === filter).sort((a, b) => a.name.localeCompare(b.name));
    const { items, truncated, next } = page(all, body, (a) => a.name);
    return {
      Aliases: items.map((a) => ({ AliasName: a.name, AliasArn: aliasArn(ctx, a.name), TargetKeyId: a.targetKeyId, CreationDate: seconds(a.creationDate) })),
      Truncated: truncated,
      ...(next ? { NextMarker: next } : {}),
    };
  },

  async TagResource(body, ctx) {
    const keyId = keyIdParam(body);
    const tags = tagList(body, true);
    const key = resolveKey(ctx, keyId);
    authorize(ctx, key, 'TagResource');
    const merged = { ...(key.tags ?? {}), ...Object.fromEntries(tags) };
    if (Object.keys(merged).length > MAX_TAGS) throw new KmsServiceException('LimitExceededException', `A key can have at most ${MAX_TAGS} tags.`);
    await ctx.store.commit(() => {
      key.tags = merged;
    });
    return {};
  },

  async UntagResource(body, ctx) {
    const keyId = keyIdParam(body);
    const names = body['TagKeys'];
    if (!Array.isArray(names) || names.some((n) => typeof n !== 'string')) throw kmsError.serialization('TagKeys must be a list of strings');
    for (const n of names as string[]) checkTagKey(n);
    const key = resolveKey(ctx, keyId);
    authorize(ctx, key, 'UntagResource');
    const kept = Object.fromEntries(Object.entries(key.tags ?? {}).filter(([k]) => !(names as string[]).includes(k)));
    await ctx.store.commit(() => {
      if (Object.keys(kept).length > 0) key.tags = kept;
      else delete key.tags;
    });
    return {};
  },

  ListResourceTags(body, ctx) {
    const key = resolveKey(ctx, keyIdParam(body));
    authorize(ctx, key, 'ListResourceTags');
    const Tags = Object.entries(key.tags ?? {})
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([TagKey, TagValue]) => ({ TagKey, TagValue }));
    return { Tags, Truncated: false };
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

  GetKeyPolicy(body, ctx) {
    const name = optionalString(body, 'PolicyName', 1, 128) ?? 'default';
    const key = resolveKey(ctx, keyIdParam(body));
    authorize(ctx, key, 'GetKeyPolicy');
    if (name !== 'default') throw kmsError.notFound(`No such policy exists: ${name}`);
    return { Policy: key.policy, PolicyName: 'default' };
  },

  async PutKeyPolicy(body, ctx) {
    const name = optionalString(body, 'PolicyName', 1, 128) ?? 'default';
    const key = resolveKey(ctx, keyIdParam(body));
    authorize(ctx, key, 'PutKeyPolicy');
    const policy = policyParam(body, ctx, true, keyArn(ctx, key.keyId));
    if (name !== 'default') throw kmsError.notFound(`No such policy exists: ${name}`);
    await ctx.store.commit(() => {
      key.policy = policy;
    });
    return {};
  },

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
      prepare(ctx, named, 'Decrypt', r.encryptionContext, true, readRecipientFor(ctx, r.recipient));
    }
    const { key, blob } = decryptBlob(ctx, r.ciphertextBlob, r.keyId);
    // Every key here is symmetric; an asymmetric algorithm names the wrong kind of key (AWS: InvalidKeyUsageException).
    if (r.encryptionAlgorithm !== undefined && r.encryptionAlgorithm !== 'SYMMETRIC_DEFAULT')
      throw new KmsServiceException('InvalidKeyUsageException', `The request is not valid for the key's KeySpec: SYMMETRIC_DEFAULT.`);
    const recipient = readRecipientFor(ctx, r.recipient);
    prepare(ctx, key, 'Decrypt', r.encryptionContext, r.dryRun, recipient);
    const plaintext = open(key, blob, r.encryptionContext);
    const base = { KeyId: keyArn(ctx, key.keyId), EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
    return recipient
      ? { ...base, CiphertextForRecipient: b64(buildCiphertextForRecipient(plaintext, recipient.publicKey)) }
      : { ...base, Plaintext: b64(plaintext), KeyMaterialId: keyMaterialId(key.keyId, blob.materialVersion) };
  },

  ReEncrypt(body, ctx) {
    const blobBytes = requireBlob(body, 'CiphertextBlob', 1, 6144);
    const sourceContext = encryptionContext(body, 'SourceEncryptionContext');
    const destinationContext = encryptionContext(body, 'DestinationEncryptionContext');
    const sourceKeyId = optionalString(body, 'SourceKeyId', 1, KEY_ID_MAX);
    const destinationId = keyIdParam(body, 'DestinationKeyId');
    grantTokens(body);
    const { key: source, blob } = decryptBlob(ctx, blobBytes, sourceKeyId);
    const destination = resolveKey(ctx, destinationId);
    authorize(ctx, source, 'ReEncryptFrom', contextConditions(sourceContext));
    authorize(ctx, destination, 'ReEncryptTo', contextConditions(destinationContext));
    requireUsable(ctx, source);
    requireUsable(ctx, destination);
    requireKeyUsage(ctx, destination, 'ENCRYPT_DECRYPT');
    if (optionalBoolean(body, 'DryRun')) throw kmsError.dryRun();
    const plaintext = open(source, blob, sourceContext);
    return {
      CiphertextBlob: b64(seal(destination, plaintext, destinationContext)),
      SourceKeyId: keyArn(ctx, source.keyId),
      KeyId: keyArn(ctx, destination.keyId),
      SourceEncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
      DestinationEncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
    };
  },

  GenerateDataKey(body, ctx) {
    const r = parseGenerateDataKeyRequest(body);
    const key = resolveKey(ctx, r.keyId);
    const recipient = readRecipientFor(ctx, r.recipient);
    prepare(ctx, key, 'GenerateDataKey', r.encryptionContext, r.dryRun, recipient);
    const dataKey = new Uint8Array(randomBytes(r.numberOfBytes));
    const base = { KeyId: keyArn(ctx, key.keyId), CiphertextBlob: b64(seal(key, dataKey, r.encryptionContext)) };
    return recipient
      ? { ...base, CiphertextForRecipient: b64(buildCiphertextForRecipient(dataKey, recipient.publicKey)) }
      : { ...base, Plaintext: b64(dataKey), KeyMaterialId: currentMaterialId(key) };
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
    const recipient = readRecipientFor(ctx, r.recipient);
    prepare(ctx, key, 'GenerateDataKeyPair', r.encryptionContext, r.dryRun, recipient);
    const pair = await dataKeyPair(r.keyPairSpec);
    const base = {
      KeyId: keyArn(ctx, key.keyId),
      KeyPairSpec: r.keyPairSpec,
      PublicKey: b64(pair.publicKey),
      PrivateKeyCiphertextBlob: b64(seal(key, pair.privateKey, r.encryptionContext)),
    };
    return recipient
      ? { ...base, CiphertextForRecipient: b64(buildCiphertextForRecipient(pair.privateKey, recipient.publicKey)) }
      : { ...base, PrivateKeyPlaintext: b64(pair.privateKey), KeyMaterialId: currentMaterialId(key) };
  },

  async GenerateDataKeyPairWithoutPlaintext(body, ctx) {
    const keyId = keyIdParam(body);
    const spec = optionalEnum(body, 'KeyPairSpec', KEY_PAIR_SPECS) ?? (requireString(body, 'KeyPairSpec', 1, 32) as never);
    const context = encryptionContext(body);
    grantTokens(body);
    const key = resolveKey(ctx, keyId);
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
    const recipient = readRecipientFor(ctx, r.recipient);
    authorizeWithoutKey(ctx, 'GenerateRandom', contextConditions({}, recipient));
    const random = new Uint8Array(randomBytes(r.numberOfBytes));
    return recipient ? { CiphertextForRecipient: b64(buildCiphertextForRecipient(random, recipient.publicKey)) } : { Plaintext: b64(random) };
  },
};
