import { isNegatedOperator, operatorMatches } from './condition-operators.js';
import type { PolicyCondition, PolicyStatement } from './policy-document.js';
import { matchesWildcard } from './wildcard.js';

/*
 * One statement against one request, as IAM's "Policy evaluation logic" and "IAM JSON policy elements"
 * describe it. Which statements of which policies decide is kms-authorization.ts.
 */

/**
 * What a request brings to policy evaluation. Condition keys are looked up lower-cased (IAM compares
 * them case-insensitively, the context key of kms:EncryptionContext:KEY included). A key may have several
 * values (kms:EncryptionContextKeys): ForAnyValue / ForAllValues range over them.
 */
export interface PolicyRequest {
  readonly principalArn: string;
  readonly action: string;
  readonly resourceArn: string;
  readonly conditions: ReadonlyMap<string, string | readonly string[]>;
}

export type PolicyDecision = 'Allow' | 'ExplicitDeny' | 'ImplicitDeny';

/** Who calls, as a principal element sees it. */
export interface PolicyCaller {
  /** The caller's ARN: a user, a role, an assumed-role session, or an account's root user. */
  readonly arn: string;
  /** Its account, when it has one (an anonymous caller has none). */
  readonly account: string | undefined;
  /** For an assumed-role session, its role: the account and the role's name (unique in the account, whatever its path). */
  readonly role?: { readonly account: string; readonly name: string };
  /** The account's root user: all of its account's permissions are its own. */
  readonly isRoot: boolean;
}

/** The caller an ARN names. `anonymous` (an unsigned or unmapped request) has no account. */
export function policyCaller(arn: string): PolicyCaller {
  const account = /^arn:aws[a-z-]*:(?:iam|sts)::(\d{12}):/.exec(arn)?.[1];
  const session = /^arn:aws[a-z-]*:sts::(\d{12}):assumed-role\/([^/]+)\/[^/]+$/.exec(arn);
  return {
    arn,
    account,
    ...(session ? { role: { account: session[1] as string, name: session[2] as string } } : {}),
    isRoot: /^arn:aws[a-z-]*:iam::\d{12}:root$/.test(arn),
  };
}

/**
 * How a key policy's principal element names the caller: `direct` (the caller, its role, or "*"),
 * `account` (the caller's account root: the account's IAM policies then decide, unless the caller is that
 * root user), or not at all.
 */
export type PrincipalMatch = 'direct' | 'account' | 'none';

const ACCOUNT_PRINCIPAL = /^(?:arn:aws[a-z-]*:iam::)?(\d{12})(?::root)?$/;
const ROLE_ARN = /^arn:aws[a-z-]*:iam::(\d{12}):role\/(?:[^/]+\/)*([^/]+)$/;

export function principalMatch(pattern: string, caller: PolicyCaller): PrincipalMatch {
  if (pattern === '*') return 'direct';
  const account = ACCOUNT_PRINCIPAL.exec(pattern)?.[1];
  if (account !== undefined) return caller.account !== account ? 'none' : caller.isRoot ? 'direct' : 'account';
  if (pattern === caller.arn) return 'direct';
  // A role principal stands for the role's sessions; the path is not part of the match (names are unique).
  const role = ROLE_ARN.exec(pattern);
  return role && caller.role && role[1] === caller.role.account && role[2] === caller.role.name ? 'direct' : 'none';
}

/**
 * Whether NotPrincipal spares the caller: only a principal it names exactly. An account's root spares
 * the root user alone, not the account's roles and users; a role spares the role, not its sessions
 * (IAM: "NotPrincipal" with "Deny" must name the session ARN too).
 */
function sparedBy(pattern: string, caller: PolicyCaller): boolean {
  if (pattern === '*') return true;
  const account = ACCOUNT_PRINCIPAL.exec(pattern)?.[1];
  if (account !== undefined) return caller.isRoot && caller.account === account;
  return pattern === caller.arn;
}

/** The first part of a statement that does not match the request, and for a condition what it saw. */
export type StatementMiss =
  | { readonly part: 'principal' | 'action' | 'resource' }
  | { readonly part: 'condition'; readonly condition: PolicyCondition; readonly seen: readonly string[] };

/** Whether a statement applies to the request, and how its principal named the caller. */
export interface StatementCheck {
  readonly applies: boolean;
  readonly via: PrincipalMatch;
  readonly miss?: StatementMiss;
}

/** One statement against the request; an identity policy's statements name no principal (`via: 'direct'`). */
export function checkStatement(st: PolicyStatement, request: PolicyRequest, caller: PolicyCaller): StatementCheck {
  const via = principalOf(st, caller);
  if (via === 'none') return { applies: false, via, miss: { part: 'principal' } };
  if (st.action === undefined || st.action.values.some((a) => matchesWildcard(a, request.action, { ignoreCase: true })) === st.action.not)
    return { applies: false, via, miss: { part: 'action' } };
  const resources = st.resource?.values.flatMap((r) => substituted(r, request.conditions)) ?? [];
  if (st.resource === undefined || resources.some((r) => matchesWildcard(r, request.resourceArn)) === st.resource.not)
    return { applies: false, via, miss: { part: 'resource' } };
  for (const written of st.conditions) {
    const condition = { ...written, values: written.values.flatMap((v) => substituted(v, request.conditions)) };
    if (!conditionHolds(condition, request.conditions))
      return { applies: false, via, miss: { part: 'condition', condition, seen: valuesOf(condition, request) } };
  }
  return { applies: true, via };
}

/**
 * A policy value with its variables put in (IAM "Policy variables"): `${aws:username}` becomes the request's
 * value of that key; `${*}`, `${?}` and `${$}` stand for the literal characters. A variable whose key the
 * request lacks leaves no value: the element then matches nothing.
 */
function substituted(value: string, conditions: PolicyRequest['conditions']): string[] {
  if (!value.includes('${')) return [value];
  let missing = false;
  const out = value.replace(/\$\{([^}]+)\}/g, (_whole, key: string) => {
    if (key === '*' || key === '?' || key === '$') return key;
    const found = conditions.get(key.toLowerCase());
    if (typeof found !== 'string') missing = true;
    return typeof found === 'string' ? found : '';
  });
  return missing ? [] : [out];
}

function principalOf(st: PolicyStatement, caller: PolicyCaller): PrincipalMatch {
  if (st.principal === undefined) return 'direct';
  if (st.principal.not) return st.principal.values.some((p) => sparedBy(p, caller)) ? 'none' : 'direct';
  const matches = st.principal.values.map((p) => principalMatch(p, caller));
  return matches.includes('direct') ? 'direct' : matches.includes('account') ? 'account' : 'none';
}

function valuesOf(c: PolicyCondition, request: PolicyRequest): readonly string[] {
  const raw = request.conditions.get(c.key);
  return raw === undefined ? [] : typeof raw === 'string' ? [raw] : raw;
}

function conditionHolds(c: PolicyCondition, context: PolicyRequest['conditions']): boolean {
  const raw = context.get(c.key);
  const actual: readonly string[] = raw === undefined ? [] : typeof raw === 'string' ? [raw] : raw;
  if (c.operator === 'Null') return c.values.some((v) => (v === 'true') === (actual.length === 0));
  if (c.set === 'ForAllValues') return actual.every((value) => matchesOne(c, value)); // vacuously true without values
  if (c.set === 'ForAnyValue') return actual.some((value) => matchesOne(c, value));
  if (actual.length === 0) return c.ifExists || isNegatedOperator(c.operator); // a missing key matches no value
  return actual.every((value) => matchesOne(c, value));
}

/** One request value against the condition's values: any of them for a positive operator, none for a negated one. */
function matchesOne(c: PolicyCondition, value: string): boolean {
  return operatorMatches(c.operator, c.values, value);
}
