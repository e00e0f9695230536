import type { PolicyStatement } from './policy-document.js';
import { checkStatement, type PolicyCaller, type PolicyDecision, type PolicyRequest } from './policy-evaluation.js';

/*
 * The decision AWS KMS takes from a key policy and the caller's identity policies, as its documentation
 * lays it out (KMS Developer Guide, "Key policies" and "Allowing users in other accounts"; IAM User Guide,
 * "Policy evaluation logic" and "Cross-account policy evaluation logic"):
 *   - an explicit Deny in any of them wins;
 *   - the key policy is where access starts: a statement naming the caller (or its role, or "*") allows
 *     by itself; one naming only the caller's account root delegates to that account's IAM policies, so an
 *     identity policy must allow too (the account's root user has every permission of its account);
 *   - a caller of another account needs both: the key policy allowing it (or its account), and an identity
 *     policy of its own account allowing the call;
 *   - an action on no key (CreateKey, GenerateRandom) is the identity policies' alone.
 */

/** Where a caller's identity policies come from: the documents, or "permissive" (no IAM modelled: IAM allows all). */
export type IdentityPolicies = readonly (readonly PolicyStatement[])[] | 'permissive';

export interface KmsAuthorizationInput {
  /** The key's policy; absent for an action on no key. */
  readonly keyPolicy?: readonly PolicyStatement[];
  /** The account that owns the key (the key ARN's). */
  readonly keyAccount?: string;
  readonly identityPolicies: IdentityPolicies;
  readonly caller: PolicyCaller;
  readonly request: PolicyRequest;
}

/** The decision, the statement that made it, and why, in words an operator can act on. */
export interface KmsAuthorization {
  readonly decision: PolicyDecision;
  /** The deciding statement's Sid (or `Statement[i]`); absent for an implicit deny. */
  readonly statement?: string;
  /** Which policy holds it: `key policy`, or `identity policy N` (N from 1, in the order given). */
  readonly policy?: string;
  /** Which side denied: the key policy (resource-based) or the identity policies; for the message AWS gives. */
  readonly deniedBy?: 'resource-based' | 'identity-based';
  readonly reason: string;
}

const label = (st: PolicyStatement, i: number): string => st.sid ?? `Statement[${i}]`;

interface Hit {
  readonly st: PolicyStatement;
  /** `key policy Sid`: for reasons. */
  readonly name: string;
  readonly policy: string;
  readonly sid: string;
  readonly via: 'direct' | 'account' | 'none';
}

/** The statements of the key policy and of the identity policies that apply to the request. */
function hits(input: KmsAuthorizationInput): { key: Hit[]; identity: Hit[] } {
  const { caller, request } = input;
  const key = (input.keyPolicy ?? []).flatMap((st, i) => {
    const check = checkStatement(st, request, caller);
    return check.applies ? [{ st, name: `key policy ${label(st, i)}`, policy: 'key policy', sid: label(st, i), via: check.via }] : [];
  });
  const policies = input.identityPolicies === 'permissive' ? [] : input.identityPolicies;
  const identity = policies.flatMap((policy, p) =>
    policy.flatMap((st, i) =>
      checkStatement(st, request, caller).applies
        ? [{ st, name: `identity policy ${p + 1} ${label(st, i)}`, policy: `identity policy ${p + 1}`, sid: label(st, i), via: 'direct' as const }]
        : [],
    ),
  );
  return { key, identity };
}

const decidedBy = (hit: Hit): { statement: string; policy: string } => ({ statement: hit.sid, policy: hit.policy });

export function authorizeKms(input: KmsAuthorizationInput): KmsAuthorization {
  const { caller, request } = input;
  const found = hits(input);
  const keyDeny = found.key.find((h) => h.st.effect === 'Deny');
  const idDeny = found.identity.find((h) => h.st.effect === 'Deny');
  if (keyDeny) return { decision: 'ExplicitDeny', ...decidedBy(keyDeny), deniedBy: 'resource-based', reason: `${keyDeny.name} denies ${request.action}` };
  if (idDeny) return { decision: 'ExplicitDeny', ...decidedBy(idDeny), deniedBy: 'identity-based', reason: `${idDeny.name} denies ${request.action}` };
  const idAllow = found.identity.find((h) => h.st.effect === 'Allow');
  const permissive = input.identityPolicies === 'permissive';
  // The root user holds every permission of its account; an anonymous caller has no identity to consult.
  const identityAllows = permissive || caller.isRoot || caller.account === undefined || idAllow !== undefined;
  const identityWhy = idAllow ? `, and ${idAllow.name} allows it` : permissive ? ' (IAM modelled as permissive)' : '';
  if (input.keyPolicy === undefined) {
    if (!identityAllows)
      return { decision: 'ImplicitDeny', deniedBy: 'identity-based', reason: `no identity policy of ${caller.arn} allows ${request.action}` };
    return { decision: 'Allow', ...(idAllow ? decidedBy(idAllow) : {}), reason: `no key is involved${identityWhy || ': the caller is its account'}` };
  }
  return decideOnKey(input, found.key, identityAllows, idAllow, identityWhy);
}

/** With a key: a direct grant of the key policy, or its grant to the account plus an identity policy (both, across accounts). */
function decideOnKey(
  input: KmsAuthorizationInput,
  key: readonly Hit[],
  identityAllows: boolean,
  idAllow: Hit | undefined,
  identityWhy: string,
): KmsAuthorization {
  const { caller, request } = input;
  const direct = key.find((h) => h.st.effect === 'Allow' && h.via === 'direct');
  const delegated = key.find((h) => h.st.effect === 'Allow' && h.via === 'account');
  const sameAccount = caller.account !== undefined && caller.account === input.keyAccount;
  if (sameAccount && direct) return { decision: 'Allow', ...decidedBy(direct), reason: `${direct.name} allows ${caller.arn}` };
  const grant = sameAccount ? delegated : (direct ?? delegated);
  if (grant && identityAllows) {
    return {
      decision: 'Allow',
      ...decidedBy(idAllow ?? grant),
      reason: `${grant.name} allows ${sameAccount ? 'the account' : caller.arn}${identityWhy}`,
    };
  }
  if (grant) {
    const whose = sameAccount ? 'the account delegates to its IAM policies' : `the caller is of account ${caller.account ?? '(none)'}, not the key's`;
    return {
      decision: 'ImplicitDeny',
      deniedBy: 'identity-based',
      reason: `${grant.name} allows ${sameAccount ? 'the account' : caller.arn}, but ${whose} and no identity policy of ${caller.arn} allows ${request.action}`,
    };
  }
  return { decision: 'ImplicitDeny', deniedBy: 'resource-based', reason: `no statement of the key policy allows ${caller.arn} ${request.action}` };
}
