import type { KmsRequestBody as Body } from '@nitro-datakey/shared';
import { kmsError, optionalBoolean, optionalString, requireString } from '@nitro-datakey/shared';
import {
  authorizeKms,
  defaultKeyPolicy,
  type IdentityPolicies,
  type KmsAuthorization,
  type PolicyCaller,
  parsedPolicyDocument,
  policyCaller,
  principalMatch,
  callerConditions,
  encryptionContextConditions,
  INVALID_PRINCIPALS,
  type PolicyStatement,
  principalAttributeConditions,
  requestConditions,
  tagConditions,
} from '@nitro-datakey/shared/policy';
import type { StoredKey } from '../keystore.js';
import type { VerifiedRecipient } from '../recipient.js';
import { keyArn, type OperationContext } from './context.js';
import { grantAllowing } from './grant-match.js';
import { requireKeyUsage, requireUsable } from './keys.js';

/** AWS's message for a refusal, by the side that refused (the SDK and the CLI show it as it is). */
function denied(ctx: OperationContext, action: string, resource: string | undefined, verdict: KmsAuthorization): never {
  const on = resource === undefined ? '' : ` on resource: ${resource}`;
  const side = verdict.deniedBy ?? 'resource-based';
  const why =
    verdict.decision === 'ExplicitDeny'
      ? `with an explicit deny in ${side === 'identity-based' ? 'an' : 'a'} ${side} policy`
      : `because no ${side} policy allows the kms:${action} action`;
  throw kmsError.accessDenied(`User: ${ctx.principalArn} is not authorized to perform: kms:${action}${on} ${why}`);
}

/**
 * The caller's identity policies: its own (a user's, a role's), or for an assumed-role session its
 * role's, whatever the role's path. `permissive` when IAM is modelled as allowing all and none was given.
 */
function identityPoliciesOf(ctx: OperationContext, caller: PolicyCaller): IdentityPolicies {
  const texts = [...(ctx.iamPolicies ?? new Map<string, readonly string[]>())]
    .filter(([arn]) => arn === caller.arn || isRoleOf(arn, caller))
    .flatMap(([, t]) => t);
  if (texts.length === 0 && ctx.iamMode === 'permissive') return 'permissive';
  return texts.map((text) => parsedPolicyDocument(text, 'iam'));
}

const isRoleOf = (arn: string, caller: PolicyCaller): boolean =>
  caller.role !== undefined && principalMatch(arn, caller) === 'direct' && arn.includes(':role/');

/**
 * The one call into the shared engine: the caller read once from its ARN, its identity policies, and the
 * condition keys about it and the request beside the operation's own. No key policy: an action on no key.
 */
function decide(
  ctx: OperationContext,
  action: string,
  resourceArn: string,
  conditions: ReadonlyMap<string, string | readonly string[]>,
  keyPolicy?: ReturnType<typeof parsedPolicyDocument>,
): { verdict: KmsAuthorization; caller: PolicyCaller } {
  const caller = policyCaller(ctx.principalArn);
  const verdict = authorizeKms({
    ...(keyPolicy ? { keyPolicy, keyAccount: ctx.account } : {}),
    identityPolicies: identityPoliciesOf(ctx, caller),
    caller,
    request: { principalArn: ctx.principalArn, action: `kms:${action}`, resourceArn, conditions: withCaller(ctx, caller, conditions) },
  });
  return { verdict, caller };
}

/** The key policy and the caller's identity policies, decided as AWS does; the audit trail notes the decision. */
export function authorize(
  ctx: OperationContext,
  key: StoredKey,
  action: string,
  conditions: ReadonlyMap<string, string | readonly string[]> = new Map(),
  context: Readonly<Record<string, string>> = {},
): void {
  const resource = keyArn(ctx, key.keyId);
  const { verdict: policyVerdict, caller } = decide(ctx, action, resource, withKey(ctx, key, conditions), parsedPolicyDocument(key.policy));
  // A grant allows what no policy allows; it never lifts an explicit Deny.
  const grant = policyVerdict.decision === 'ImplicitDeny' ? grantAllowing(key, caller, action, context) : undefined;
  const verdict: KmsAuthorization = grant ? { decision: 'Allow', statement: `grant ${grant.grantId}`, reason: 'a grant allows it' } : policyVerdict;
  if (ctx.audit) {
    ctx.audit.keyArn = resource;
    ctx.audit.decision = { effect: verdict.decision, ...(verdict.statement ? { statement: verdict.statement } : {}) };
  }
  if (verdict.decision !== 'Allow') denied(ctx, action, resource, verdict);
}

/** An action on no key (CreateKey, GenerateRandom): the caller's identity policies alone decide, as on AWS. */
export function authorizeWithoutKey(ctx: OperationContext, action: string, conditions: ReadonlyMap<string, string | readonly string[]> = new Map()): void {
  const { verdict } = decide(ctx, action, '*', conditions);
  if (verdict.decision !== 'Allow') denied(ctx, action, undefined, verdict);
}

/** kms:RequestAlias (the alias the request named), kms:ResourceAliases (every alias of the key), and the key's spec, usage and origin. */
function withKey(ctx: OperationContext, key: StoredKey, conditions: ReadonlyMap<string, string | readonly string[]>): Map<string, string | readonly string[]> {
  const all = new Map(conditions);
  if (ctx.request?.alias) all.set('kms:requestalias', ctx.request.alias);
  const aliases = [...ctx.store.aliases.values()].filter((a) => a.targetKeyId === key.keyId).map((a) => a.name);
  if (aliases.length > 0) all.set('kms:resourcealiases', aliases);
  all.set('kms:keyspec', key.keySpec ?? 'SYMMETRIC_DEFAULT');
  all.set('kms:keyusage', key.keyUsage ?? 'ENCRYPT_DECRYPT');
  all.set('kms:keyorigin', 'AWS_KMS');
  for (const [name, value] of tagConditions(key.tags ?? {})) all.set(name, value);
  return all;
}

/** The condition keys about the caller, beside the request's own. */
function withCaller(
  ctx: OperationContext,
  caller: PolicyCaller,
  conditions: ReadonlyMap<string, string | readonly string[]>,
): Map<string, string | readonly string[]> {
  // For a role session AWS sets aws:PrincipalArn to the role's ARN (with its path), not the session's.
  return new Map([
    ...conditions,
    ...(ctx.request?.conditions ?? []),
    ...callerConditions(ctx.principalArn, roleArnOf(ctx, caller)),
    ...principalAttributeConditions(ctx.principalAttributes ?? {}),
    ...requestConditions({
      now: ctx.clock(),
      region: ctx.region,
      ...(ctx.transport ? { sourceIp: ctx.transport.sourceIp, secureTransport: ctx.transport.secure } : {}),
    }),
  ]);
}

/** A session's role ARN: the one the local KMS knows (with its path) from --iam-policy, else without a path. */
function roleArnOf(ctx: OperationContext, caller: PolicyCaller): string | undefined {
  if (caller.role === undefined) return undefined;
  const known = [...(ctx.iamPolicies?.keys() ?? [])].find((arn) => isRoleOf(arn, caller));
  return known ?? `arn:aws:iam::${caller.role.account}:role/${caller.role.name}`;
}

export function contextConditions(context: Readonly<Record<string, string>>, recipient?: VerifiedRecipient): Map<string, string | readonly string[]> {
  return new Map([...(recipient?.conditions ?? []), ...encryptionContextConditions(context)]);
}

/** The steps every cryptographic operation on a key shares, in KMS's order. */
export function prepare(
  ctx: OperationContext,
  key: StoredKey,
  action: string,
  context: Readonly<Record<string, string>>,
  dryRun: boolean,
  recipient?: VerifiedRecipient,
): void {
  // Every operation prepared here uses the key's symmetric algorithm.
  requestCondition(ctx, 'kms:EncryptionAlgorithm', 'SYMMETRIC_DEFAULT');
  authorize(ctx, key, action, contextConditions(context, recipient), context);
  requireUsable(ctx, key);
  requireKeyUsage(ctx, key, 'ENCRYPT_DECRYPT'); // every operation prepared here is a symmetric one
  if (dryRun) throw kmsError.dryRun();
}

/**
 * The Policy parameter of CreateKey and PutKeyPolicy: parsed strictly, and held to AWS's lockout safety
 * check: the new policy must let the caller call PutKeyPolicy on the key again, unless the request
 * sets BypassPolicyLockoutSafetyCheck (AWS: "the new key policy will not allow you to update the key
 * policy in the future").
 */
export function policyParam(body: Body, ctx: OperationContext, required: boolean, resourceArn: string): string {
  const policy = required ? requireString(body, 'Policy', 1, 131072) : optionalString(body, 'Policy', 1, 131072);
  const bypass = optionalBoolean(body, 'BypassPolicyLockoutSafetyCheck') === true;
  if (policy === undefined) return defaultKeyPolicy(ctx.account);
  if (!isPolicyText(policy))
    throw kmsError.validation(
      "1 validation error detected: Value at 'policy' failed to satisfy constraint: " +
        'Member must satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u00FF]+',
    );
  const statements = parsedPolicyDocument(policy);
  requireExistingPrincipals(ctx, statements);
  if (!bypass) {
    const { verdict } = decide(ctx, 'PutKeyPolicy', resourceArn, new Map(), statements);
    if (verdict.decision !== 'Allow') throw kmsError.malformedPolicy('The new key policy will not allow you to update the key policy in the future.');
  }
  return policy;
}

/**
 * AWS refuses a key policy naming a role or user that does not exist. The local KMS knows the ones declared
 * (--principal, --iam-policy); its note after AWS's sentence says which one it did not know and how to declare it.
 */
function requireExistingPrincipals(ctx: OperationContext, statements: readonly PolicyStatement[]): void {
  const exists = ctx.principalExists;
  if (exists === undefined) return;
  const unknown = statements.flatMap((st) => st.principal?.values ?? []).find((arn) => !exists(arn));
  if (unknown !== undefined)
    throw kmsError.malformedPolicy(
      `${INVALID_PRINCIPALS} (nitro-kms-local: ${unknown} is not a principal it knows; declare it with --principal or --iam-policy)`,
    );
}

/** A condition key the request's own parameters set (kms:SigningAlgorithm, aws:RequestTag/KEY, ...), for the decision to come. */
export function requestCondition(ctx: OperationContext, name: string, value: string | readonly string[]): void {
  if (ctx.request === undefined) return;
  ctx.request.conditions ??= new Map();
  ctx.request.conditions.set(name.toLowerCase(), value);
}

/** AWS API model: a policy is tabs, line ends and Latin-1 characters only. */
function isPolicyText(text: string): boolean {
  for (const ch of text) {
    const c = ch.codePointAt(0) as number;
    if (!(c === 0x09 || c === 0x0a || c === 0x0d || (c >= 0x20 && c <= 0xff))) return false;
  }
  return true;
}
