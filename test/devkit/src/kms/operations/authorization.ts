import type { KmsRequestBody as Body } from '@nitro-datakey/shared';
import { kmsError, optionalBoolean, optionalString, requireString } from '@nitro-datakey/shared';
import type { StoredKey } from '../keystore.js';
import { defaultKeyPolicy, evaluatePolicy, explainPolicy, parsedPolicy, roleOfSession } from '../policy.js';
import type { VerifiedRecipient } from '../recipient.js';
import { keyArn, type OperationContext } from './context.js';
import { requireKeyUsage, requireUsable } from './keys.js';

/** Key policy check: explicit deny wins, no allow is a denial. */
export function authorize(
  ctx: OperationContext,
  key: StoredKey,
  action: string,
  conditions: ReadonlyMap<string, string | readonly string[]> = new Map(),
): void {
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
export function authorizeWithoutKey(ctx: OperationContext, action: string, conditions: ReadonlyMap<string, string | readonly string[]> = new Map()): void {
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

export function contextConditions(context: Readonly<Record<string, string>>, recipient?: VerifiedRecipient): Map<string, string | readonly string[]> {
  const conditions = new Map<string, string | readonly string[]>(recipient?.conditions ?? []);
  for (const [k, v] of Object.entries(context)) conditions.set(`kms:encryptioncontext:${k}`, v);
  if (Object.keys(context).length > 0) conditions.set('kms:encryptioncontextkeys', Object.keys(context));
  return conditions;
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
  authorize(ctx, key, action, contextConditions(context, recipient));
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
