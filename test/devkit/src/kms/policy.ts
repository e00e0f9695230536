import { isRecipientAttestationKey, kmsError, matchesWildcard } from '@nitro-datakey/shared';

/*
 * Key policies and IAM-style principal policies, evaluated as AWS's policy evaluation logic documents
 * it (IAM User Guide, "Policy evaluation logic" and "IAM JSON policy elements"): an explicit Deny wins,
 * then any Allow, else an implicit deny. A statement applies when its principal, action, resource and
 * every condition match; Not* elements invert their match. A statement without Action (or NotAction)
 * or without Resource (or NotResource) matches nothing. What this evaluator cannot evaluate exactly
 * (an unknown operator or condition key) is refused at PutKeyPolicy/CreateKey, never half-understood.
 */

/**
 * What a request brings to policy evaluation. Condition keys are looked up lower-cased (IAM compares
 * them case-insensitively), except the part after kms:EncryptionContext:. A key may have several
 * values (kms:EncryptionContextKeys): ForAnyValue / ForAllValues range over them.
 */
export interface PolicyRequest {
  readonly principalArn: string;
  readonly action: string;
  readonly resourceArn: string;
  readonly conditions: ReadonlyMap<string, string | readonly string[]>;
}

export type PolicyDecision = 'Allow' | 'ExplicitDeny' | 'ImplicitDeny';

interface Match {
  readonly not: boolean;
  readonly values: readonly string[];
}

interface Statement {
  readonly sid: string | undefined;
  readonly effect: 'Allow' | 'Deny';
  /** Undefined in an IAM policy: it applies to the principal it is attached to. */
  readonly principal: Match | undefined;
  /** Undefined when the statement has neither Action nor NotAction: it then matches nothing. */
  readonly action: Match | undefined;
  readonly resource: Match | undefined;
  readonly conditions: readonly Condition[];
}

type BaseOperator =
  | 'StringEquals'
  | 'StringNotEquals'
  | 'StringEqualsIgnoreCase'
  | 'StringNotEqualsIgnoreCase'
  | 'StringLike'
  | 'StringNotLike'
  | 'Bool'
  | 'Null';

interface Condition {
  readonly operator: BaseOperator;
  readonly set: 'ForAnyValue' | 'ForAllValues' | undefined;
  readonly ifExists: boolean;
  readonly key: string;
  readonly values: readonly string[];
}

const BASE_OPERATORS: readonly BaseOperator[] = [
  'StringEquals',
  'StringNotEquals',
  'StringEqualsIgnoreCase',
  'StringNotEqualsIgnoreCase',
  'StringLike',
  'StringNotLike',
  'Bool',
  'Null',
];
const NEGATED: ReadonlySet<BaseOperator> = new Set(['StringNotEquals', 'StringNotEqualsIgnoreCase', 'StringNotLike']);
const STATEMENT_FIELDS = new Set(['Sid', 'Effect', 'Principal', 'NotPrincipal', 'Action', 'NotAction', 'Resource', 'NotResource', 'Condition']);

/**
 * The condition keys this KMS sets in a request context (and so the only ones a policy may test):
 * the attested ones (kms:RecipientAttestation:ImageSha384, :PCR0-31), the encryption context
 * (kms:EncryptionContext:KEY, kms:EncryptionContextKeys), the caller (aws:PrincipalArn,
 * kms:CallerAccount), and kms:ViaService (never set: no AWS service calls here).
 */
function isKnownConditionKey(key: string): boolean {
  const lower = key.toLowerCase();
  return (
    isRecipientAttestationKey(key) ||
    (lower.startsWith('kms:encryptioncontext:') && key.length > 'kms:encryptioncontext:'.length) ||
    ['kms:encryptioncontextkeys', 'aws:principalarn', 'kms:calleraccount', 'kms:viaservice'].includes(lower)
  );
}

/** The policy CreateKey uses when none is given: the account may do everything. */
export function defaultKeyPolicy(account: string): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Id: 'key-default-1',
    Statement: [{ Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${account}:root` }, Action: 'kms:*', Resource: '*' }],
  });
}

/**
 * Parses and checks a policy: a key policy (every statement names its principal) or, with
 * `kind: 'iam'`, an identity policy (no principal: it applies to whom it is attached to).
 */
export function parsePolicy(text: string, kind: 'key' | 'iam' = 'key'): Statement[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw kmsError.malformedPolicy('The new key policy will not allow you to update the key policy in the future. (Policy is not valid JSON)');
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw malformed('the policy must be a JSON object');
  const raw = (doc as { Statement?: unknown }).Statement;
  const list = Array.isArray(raw) ? raw : raw === undefined ? [] : [raw];
  if (list.length === 0) throw malformed('the policy has no Statement');
  return list.map((s, i) => parseStatement(s, i, kind));
}

function parseStatement(s: unknown, i: number, kind: 'key' | 'iam'): Statement {
  if (s === null || typeof s !== 'object' || Array.isArray(s)) throw malformed(`Statement[${i}] must be an object`);
  const st = s as Record<string, unknown>;
  for (const key of Object.keys(st)) if (!STATEMENT_FIELDS.has(key)) throw malformed(`Statement[${i}]: ${key} is not a policy element`);
  if (st['Effect'] !== 'Allow' && st['Effect'] !== 'Deny') throw malformed(`Statement[${i}]: Effect must be Allow or Deny`);
  const label = (field: string) => `Statement[${i}].${field}`;
  const pair = (positive: string, negative: string): Match | undefined => {
    if (st[positive] !== undefined && st[negative] !== undefined) throw malformed(`Statement[${i}]: ${positive} and ${negative} together`);
    if (st[positive] !== undefined) return { not: false, values: stringList(st[positive], label(positive)) };
    if (st[negative] !== undefined) return { not: true, values: stringList(st[negative], label(negative)) };
    return undefined;
  };
  let principal: Match | undefined;
  if (kind === 'key') {
    const p = st['Principal'] !== undefined ? 'Principal' : 'NotPrincipal';
    if (st['Principal'] !== undefined && st['NotPrincipal'] !== undefined) throw malformed(`Statement[${i}]: Principal and NotPrincipal together`);
    const value = st[p];
    if (value === undefined) throw malformed(`Statement[${i}]: a key policy statement needs a Principal (or NotPrincipal)`);
    let values: string[];
    if (value === '*') values = ['*'];
    else if (value !== null && typeof value === 'object' && !Array.isArray(value) && 'AWS' in value)
      values = stringList((value as { AWS: unknown }).AWS, `${label(p)}.AWS`);
    else throw malformed(`Statement[${i}]: ${p} must be "*" or {"AWS": ...}`);
    principal = { not: p === 'NotPrincipal', values };
  } else if (st['Principal'] !== undefined || st['NotPrincipal'] !== undefined) {
    throw malformed(`Statement[${i}]: an identity policy has no Principal`);
  }
  return {
    sid: typeof st['Sid'] === 'string' ? st['Sid'] : undefined,
    effect: st['Effect'],
    principal,
    action: pair('Action', 'NotAction'),
    resource: pair('Resource', 'NotResource'),
    conditions: parseConditions(st['Condition'], i),
  };
}

function parseConditions(cond: unknown, i: number): Condition[] {
  if (cond === undefined) return [];
  if (cond === null || typeof cond !== 'object' || Array.isArray(cond)) throw malformed(`Statement[${i}].Condition must be an object`);
  const out: Condition[] = [];
  for (const [written, block] of Object.entries(cond)) {
    const m = /^(?:(ForAnyValue|ForAllValues):)?([A-Za-z]+?)(IfExists)?$/.exec(written);
    const operator = m?.[2] as BaseOperator | undefined;
    if (!m || operator === undefined || !BASE_OPERATORS.includes(operator) || (operator === 'Null' && (m[1] || m[3]))) {
      throw malformed(`Statement[${i}]: condition operator ${written} is not supported`);
    }
    if (block === null || typeof block !== 'object' || Array.isArray(block)) throw malformed(`Statement[${i}].Condition.${written} must be an object`);
    for (const [key, value] of Object.entries(block)) {
      if (!isKnownConditionKey(key)) throw malformed(`Statement[${i}]: condition key ${key} is not one KMS sets here`);
      const values = stringList(typeof value === 'boolean' ? String(value) : value, `Statement[${i}].Condition.${written}.${key}`);
      if ((operator === 'Null' || operator === 'Bool') && values.some((v) => v !== 'true' && v !== 'false')) {
        throw malformed(`Statement[${i}]: ${operator} takes "true" or "false"`);
      }
      out.push({ operator, set: m[1] as Condition['set'], ifExists: m[3] !== undefined, key: normalizeConditionKey(key), values });
    }
  }
  return out;
}

// Policies change rarely and are evaluated on every request: keep each text's parse (bounded).
const parsedPolicies = new Map<string, Statement[]>();

/** `parsePolicy`, remembered by policy text; only policies that parsed (and so were accepted) are kept. */
export function parsedPolicy(text: string, kind: 'key' | 'iam' = 'key'): Statement[] {
  const cacheKey = `${kind}\u0000${text}`;
  let statements = parsedPolicies.get(cacheKey);
  if (!statements) {
    statements = parsePolicy(text, kind);
    if (parsedPolicies.size >= 256) parsedPolicies.clear();
    parsedPolicies.set(cacheKey, statements);
  }
  return statements;
}

/** Explicit deny wins; otherwise any matching allow; otherwise implicit deny. */
export function evaluatePolicy(statements: readonly Statement[], request: PolicyRequest): PolicyDecision {
  return explainPolicy(statements, request).decision;
}

/** The decision and the statement that made it (its Sid, or `Statement[i]`); none for an implicit deny. */
export function explainPolicy(statements: readonly Statement[], request: PolicyRequest): { decision: PolicyDecision; statement?: string } {
  let allowedBy: string | undefined;
  for (const [i, st] of statements.entries()) {
    if (!applies(st, request)) continue;
    const name = st.sid ?? `Statement[${i}]`;
    if (st.effect === 'Deny') return { decision: 'ExplicitDeny', statement: name };
    allowedBy ??= name;
  }
  return allowedBy === undefined ? { decision: 'ImplicitDeny' } : { decision: 'Allow', statement: allowedBy };
}

function applies(st: Statement, request: PolicyRequest): boolean {
  if (st.action === undefined || st.resource === undefined) return false;
  if (st.principal && st.principal.values.some((p) => principalMatches(p, request.principalArn)) === st.principal.not) return false;
  if (st.action.values.some((a) => wildcard(a, request.action, true)) === st.action.not) return false;
  if (st.resource.values.some((r) => wildcard(r, request.resourceArn, false)) === st.resource.not) return false;
  return st.conditions.every((c) => conditionHolds(c, request.conditions));
}

/** Condition key names are case-insensitive, except the part after kms:EncryptionContext: (a context key). */
function normalizeConditionKey(key: string): string {
  const prefix = 'kms:encryptioncontext:';
  return key.toLowerCase().startsWith(prefix) ? prefix + key.slice(prefix.length) : key.toLowerCase();
}

function conditionHolds(c: Condition, context: PolicyRequest['conditions']): boolean {
  const raw = context.get(c.key);
  const actual: readonly string[] = raw === undefined ? [] : typeof raw === 'string' ? [raw] : raw;
  if (c.operator === 'Null') return c.values.some((v) => (v === 'true') === (actual.length === 0));
  if (c.set === 'ForAllValues') return actual.every((value) => matchesOne(c, value)); // vacuously true without values
  if (c.set === 'ForAnyValue') return actual.some((value) => matchesOne(c, value));
  if (actual.length === 0) return c.ifExists || NEGATED.has(c.operator); // a missing key matches no value
  return actual.every((value) => matchesOne(c, value));
}

/** One request value against the condition's values: any of them for a positive operator, none for a negated one. */
function matchesOne(c: Condition, value: string): boolean {
  switch (c.operator) {
    case 'StringEquals':
      return c.values.includes(value);
    case 'StringNotEquals':
      return !c.values.includes(value);
    case 'StringEqualsIgnoreCase':
      return c.values.some((v) => v.toLowerCase() === value.toLowerCase());
    case 'StringNotEqualsIgnoreCase':
      return !c.values.some((v) => v.toLowerCase() === value.toLowerCase());
    case 'StringLike':
      return c.values.some((v) => wildcard(v, value, false));
    case 'StringNotLike':
      return !c.values.some((v) => wildcard(v, value, false));
    case 'Bool':
      return c.values.some((v) => v === value.toLowerCase());
    case 'Null':
      return false; // handled above
  }
}

function principalMatches(pattern: string, caller: string): boolean {
  if (pattern === '*') return true;
  const root = /^(?:arn:aws:iam::)?(\d{12})(?::root)?$/.exec(pattern);
  // An account's root principal stands for every caller of that account.
  if (root) return caller.split(':')[4] === root[1];
  if (pattern === caller) return true;
  // A role principal matches its assumed-role sessions.
  const role = roleOfSession(caller);
  return role !== undefined && pattern === role;
}

/** The role ARN of an assumed-role session ARN (`arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION`), else undefined. */
export function roleOfSession(arn: string): string | undefined {
  const session = /^arn:aws:sts::(\d{12}):assumed-role\/([^/]+)\//.exec(arn);
  return session ? `arn:aws:iam::${session[1]}:role/${session[2]}` : undefined;
}

function wildcard(pattern: string, value: string, ignoreCase: boolean): boolean {
  return matchesWildcard(pattern, value, { ignoreCase });
}

function stringList(value: unknown, label: string): string[] {
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0 || list.some((v) => typeof v !== 'string')) throw malformed(`${label} must be a string or a list of strings`);
  return list as string[];
}

function malformed(detail: string): Error {
  return kmsError.malformedPolicy(`The policy is not valid: ${detail}.`);
}
