import { kmsError } from '@nitro-datakey/shared';

/** What a request brings to policy evaluation. Condition keys are looked up case-insensitively. */
export interface PolicyRequest {
  readonly principalArn: string;
  readonly action: string;
  readonly resourceArn: string;
  readonly conditions: ReadonlyMap<string, string>;
}

export type PolicyDecision = 'Allow' | 'ExplicitDeny' | 'ImplicitDeny';

interface Statement {
  readonly effect: 'Allow' | 'Deny';
  readonly principals: readonly string[];
  readonly actions: readonly string[];
  readonly resources: readonly string[];
  readonly conditions: readonly Condition[];
}

interface Condition {
  readonly operator: Operator;
  readonly key: string;
  readonly values: readonly string[];
}

const OPERATORS = ['StringEquals', 'StringEqualsIgnoreCase', 'StringLike', 'Null'] as const;
type Operator = (typeof OPERATORS)[number];
const STATEMENT_FIELDS = new Set(['Sid', 'Effect', 'Principal', 'Action', 'Resource', 'Condition']);

/** The policy CreateKey uses when none is given: the account may do everything. */
export function defaultKeyPolicy(account: string): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Id: 'key-default-1',
    Statement: [{ Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${account}:root` }, Action: 'kms:*', Resource: '*' }],
  });
}

/**
 * Parses and checks a key policy; anything it cannot evaluate exactly (NotAction, unknown condition
 * operators, ...) is refused with MalformedPolicyDocumentException rather than half-understood.
 */
export function parsePolicy(text: string): Statement[] {
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
  return list.map((s, i) => parseStatement(s, i));
}

function parseStatement(s: unknown, i: number): Statement {
  if (s === null || typeof s !== 'object' || Array.isArray(s)) throw malformed(`Statement[${i}] must be an object`);
  const st = s as Record<string, unknown>;
  for (const key of Object.keys(st)) if (!STATEMENT_FIELDS.has(key)) throw malformed(`Statement[${i}]: ${key} is not supported by nitro-kms-local`);
  if (st['Effect'] !== 'Allow' && st['Effect'] !== 'Deny') throw malformed(`Statement[${i}]: Effect must be Allow or Deny`);
  const principal = st['Principal'];
  let principals: string[];
  if (principal === '*') principals = ['*'];
  else if (principal !== null && typeof principal === 'object' && !Array.isArray(principal) && 'AWS' in principal)
    principals = stringList((principal as { AWS: unknown }).AWS, `Statement[${i}].Principal.AWS`);
  else throw malformed(`Statement[${i}]: Principal must be "*" or {"AWS": ...}`);
  const conditions: Condition[] = [];
  const cond = st['Condition'];
  if (cond !== undefined) {
    if (cond === null || typeof cond !== 'object' || Array.isArray(cond)) throw malformed(`Statement[${i}].Condition must be an object`);
    for (const [operator, block] of Object.entries(cond)) {
      if (!(OPERATORS as readonly string[]).includes(operator)) throw malformed(`Statement[${i}]: condition operator ${operator} is not supported`);
      if (block === null || typeof block !== 'object' || Array.isArray(block)) throw malformed(`Statement[${i}].Condition.${operator} must be an object`);
      for (const [key, value] of Object.entries(block)) {
        const values = stringList(typeof value === 'boolean' ? String(value) : value, `Statement[${i}].Condition.${operator}.${key}`);
        if (operator === 'Null' && values.some((v) => v !== 'true' && v !== 'false')) throw malformed(`Statement[${i}]: Null takes "true" or "false"`);
        conditions.push({ operator: operator as Operator, key: normalizeConditionKey(key), values });
      }
    }
  }
  return {
    effect: st['Effect'],
    principals,
    actions: stringList(st['Action'], `Statement[${i}].Action`),
    resources: stringList(st['Resource'] ?? '*', `Statement[${i}].Resource`),
    conditions,
  };
}

// Policies change rarely and are evaluated on every request: keep each text's parse (bounded).
const parsedPolicies = new Map<string, Statement[]>();

/** `parsePolicy`, remembered by policy text; only policies that parsed (and so were accepted) are kept. */
export function parsedPolicy(text: string): Statement[] {
  let statements = parsedPolicies.get(text);
  if (!statements) {
    statements = parsePolicy(text);
    if (parsedPolicies.size >= 256) parsedPolicies.clear();
    parsedPolicies.set(text, statements);
  }
  return statements;
}

/** Explicit deny wins; otherwise any matching allow; otherwise implicit deny. */
export function evaluatePolicy(statements: readonly Statement[], request: PolicyRequest): PolicyDecision {
  let allowed = false;
  for (const st of statements) {
    if (!st.principals.some((p) => principalMatches(p, request.principalArn))) continue;
    if (!st.actions.some((a) => wildcard(a, request.action, true))) continue;
    if (!st.resources.some((r) => wildcard(r, request.resourceArn, false))) continue;
    if (!st.conditions.every((c) => conditionHolds(c, request.conditions))) continue;
    if (st.effect === 'Deny') return 'ExplicitDeny';
    allowed = true;
  }
  return allowed ? 'Allow' : 'ImplicitDeny';
}

/** Condition key names are case-insensitive, except the part after kms:EncryptionContext: (a context key). */
export function normalizeConditionKey(key: string): string {
  const prefix = 'kms:encryptioncontext:';
  return key.toLowerCase().startsWith(prefix) ? prefix + key.slice(prefix.length) : key.toLowerCase();
}

function conditionHolds(c: Condition, context: ReadonlyMap<string, string>): boolean {
  const actual = context.get(c.key);
  switch (c.operator) {
    case 'Null':
      return c.values.some((v) => (v === 'true') === (actual === undefined));
    case 'StringEquals':
      return actual !== undefined && c.values.includes(actual);
    case 'StringEqualsIgnoreCase':
      return actual !== undefined && c.values.some((v) => v.toLowerCase() === actual.toLowerCase());
    case 'StringLike':
      return actual !== undefined && c.values.some((v) => wildcard(v, actual, false));
  }
}

function principalMatches(pattern: string, caller: string): boolean {
  if (pattern === '*') return true;
  const root = /^(?:arn:aws:iam::)?(\d{12})(?::root)?$/.exec(pattern);
  // An account's root principal stands for every caller of that account.
  if (root) return caller.split(':')[4] === root[1];
  if (pattern === caller) return true;
  // A role principal matches its assumed-role sessions.
  const session = /^arn:aws:sts::(\d{12}):assumed-role\/([^/]+)\//.exec(caller);
  return session !== null && pattern === `arn:aws:iam::${session[1]}:role/${session[2]}`;
}

function wildcard(pattern: string, value: string, ignoreCase: boolean): boolean {
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    ignoreCase ? 'is' : 's',
  );
  return re.test(value);
}

function stringList(value: unknown, label: string): string[] {
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0 || list.some((v) => typeof v !== 'string')) throw malformed(`${label} must be a string or a list of strings`);
  return list as string[];
}

function malformed(detail: string): Error {
  return kmsError.malformedPolicy(`The policy is not valid: ${detail}.`);
}

export type ParsedPolicy = ReturnType<typeof parsePolicy>;
