import { kmsError } from '../kms-protocol/errors.js';
import { isKnownConditionKey, isMultivaluedConditionKey } from './condition-key-catalog.js';
import { CONDITION_OPERATORS, invalidOperatorValue } from './condition-operators.js';

/*
 * Key policies and identity (IAM) policies as documents: parsed strictly, the way KMS refuses a policy it
 * cannot honour (MalformedPolicyDocumentException), never half-understood. Evaluation is in
 * policy-evaluation.ts; the decision AWS takes from several policies in kms-authorization.ts.
 */

export interface PolicyMatch {
  readonly not: boolean;
  readonly values: readonly string[];
  /**
   * A key policy's service principals ({"Service": "logs.amazonaws.com"}). Kept apart from `values`: an
   * IAM caller never is one, so they name no caller of the local KMS and spare none from a NotPrincipal.
   */
  readonly services?: readonly string[];
}

export interface PolicyStatement {
  readonly sid: string | undefined;
  readonly effect: 'Allow' | 'Deny';
  /** Undefined in an identity policy: it applies to the principal it is attached to. */
  readonly principal: PolicyMatch | undefined;
  /** Undefined when the statement has neither Action nor NotAction: it then matches nothing. */
  readonly action: PolicyMatch | undefined;
  readonly resource: PolicyMatch | undefined;
  readonly conditions: readonly PolicyCondition[];
}

/** An IAM condition operator (CONDITION_OPERATORS), or Null. */
export type BaseOperator = string;

export interface PolicyCondition {
  readonly operator: BaseOperator;
  readonly set: 'ForAnyValue' | 'ForAllValues' | undefined;
  readonly ifExists: boolean;
  readonly key: string;
  readonly values: readonly string[];
}

const STATEMENT_FIELDS = new Set(['Sid', 'Effect', 'Principal', 'NotPrincipal', 'Action', 'NotAction', 'Resource', 'NotResource', 'Condition']);

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
export function parsePolicyDocument(text: string, kind: 'key' | 'iam' = 'key'): PolicyStatement[] {
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

function parseStatement(s: unknown, i: number, kind: 'key' | 'iam'): PolicyStatement {
  if (s === null || typeof s !== 'object' || Array.isArray(s)) throw malformed(`Statement[${i}] must be an object`);
  const st = s as Record<string, unknown>;
  for (const key of Object.keys(st)) if (!STATEMENT_FIELDS.has(key)) throw malformed(`Statement[${i}]: ${key} is not a policy element`);
  if (st['Effect'] !== 'Allow' && st['Effect'] !== 'Deny') throw malformed(`Statement[${i}]: Effect must be Allow or Deny`);
  const label = (field: string) => `Statement[${i}].${field}`;
  const pair = (positive: string, negative: string): PolicyMatch | undefined => {
    if (st[positive] !== undefined && st[negative] !== undefined) throw malformed(`Statement[${i}]: ${positive} and ${negative} together`);
    if (st[positive] !== undefined) return { not: false, values: stringList(st[positive], label(positive)) };
    if (st[negative] !== undefined) return { not: true, values: stringList(st[negative], label(negative)) };
    return undefined;
  };
  const principal = kind === 'key' ? keyPolicyPrincipal(st, i) : undefined;
  if (kind === 'iam' && (st['Principal'] !== undefined || st['NotPrincipal'] !== undefined))
    throw malformed(`Statement[${i}]: an identity policy has no Principal`);
  return {
    sid: typeof st['Sid'] === 'string' ? st['Sid'] : undefined,
    effect: st['Effect'],
    principal,
    action: pair('Action', 'NotAction'),
    resource: pair('Resource', 'NotResource'),
    conditions: parseConditions(st['Condition'], i),
  };
}

/** A key policy statement's Principal or NotPrincipal: "*" or {"AWS": ..., "Service": ...}; NotPrincipal only to deny. */
function keyPolicyPrincipal(st: Record<string, unknown>, i: number): PolicyMatch {
  const p = st['Principal'] !== undefined ? 'Principal' : 'NotPrincipal';
  if (st['Principal'] !== undefined && st['NotPrincipal'] !== undefined) throw malformed(`Statement[${i}]: Principal and NotPrincipal together`);
  const value = st[p];
  if (value === undefined) throw malformed(`Statement[${i}]: a key policy statement needs a Principal (or NotPrincipal)`);
  // AWS refuses NotPrincipal with Allow: "allow everyone but X" is never what a key policy means.
  if (p === 'NotPrincipal' && st['Effect'] === 'Allow') throw malformed(`Statement[${i}]: NotPrincipal is allowed only with "Effect": "Deny"`);
  if (value === '*') return { not: p === 'NotPrincipal', values: ['*'] };
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw malformed(`Statement[${i}]: ${p} must be "*" or {"AWS": ..., "Service": ...}`);
  const element = value as Record<string, unknown>;
  for (const kind of Object.keys(element)) {
    if (kind !== 'AWS' && kind !== 'Service') throw malformed(`Statement[${i}]: ${p}.${kind} is not a principal type a key policy takes (AWS, Service)`);
  }
  const values = element['AWS'] === undefined ? [] : stringList(element['AWS'], `Statement[${i}].${p}.AWS`);
  const services = element['Service'] === undefined ? [] : stringList(element['Service'], `Statement[${i}].${p}.Service`);
  if (values.length + services.length === 0) throw malformed(`Statement[${i}]: ${p} names no principal`);
  // AWS's own wording: the statement and the ARN are for the user to find.
  if (!values.every(isPrincipalShape) || !services.every((s) => SERVICE_PRINCIPAL.test(s))) throw kmsError.malformedPolicy(INVALID_PRINCIPALS);
  return { not: p === 'NotPrincipal', values, ...(services.length > 0 ? { services } : {}) };
}

/** KMS's message for a principal that is not a well-formed one, or (in the local KMS) one that does not exist. */
export const INVALID_PRINCIPALS = 'Policy contains a statement with one or more invalid principals.';

const SERVICE_PRINCIPAL = /^[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)*\.amazonaws\.com(?:\.cn)?$/;
const ACCOUNT = String.raw`\d{12}`;
const NAME = String.raw`[\w+=,.@-]+`;
const AWS_PRINCIPAL = new RegExp(
  [
    String.raw`^(?:\*|${ACCOUNT}`,
    String.raw`arn:aws[a-z-]*:iam::${ACCOUNT}:(?:root|(?:role|user)/(?:[\x21-\x7e]*/)?${NAME})`,
    String.raw`arn:aws[a-z-]*:sts::${ACCOUNT}:(?:assumed-role/${NAME}/${NAME}|federated-user/${NAME}))$`,
  ].join('|'),
);

/** An "AWS" principal as IAM writes one: "*", an account, its root, a role, a user, a role session or a federated user; no wildcards. */
function isPrincipalShape(value: string): boolean {
  return AWS_PRINCIPAL.test(value) && (value === '*' || !value.includes('*'));
}

/** One key of a condition block, checked: a key KMS knows, values the operator can read, a set operator only on a multivalued key. */
function parseCondition(
  key: string,
  value: unknown,
  op: { readonly written: string; readonly operator: string; readonly set: PolicyCondition['set']; readonly ifExists: boolean },
  i: number,
): PolicyCondition {
  if (!isKnownConditionKey(key)) throw malformed(`Statement[${i}]: condition key ${key} is not a KMS or global condition key`);
  if (op.set !== undefined && !isMultivaluedConditionKey(key)) throw malformed(`Statement[${i}]: ${op.set} applies to multivalued keys only, not ${key}`);
  const values = stringList(typeof value === 'boolean' || typeof value === 'number' ? String(value) : value, `Statement[${i}].Condition.${op.written}.${key}`);
  for (const v of values) {
    const wrong = op.operator === 'Null' ? (v === 'true' || v === 'false' ? undefined : 'takes "true" or "false"') : invalidOperatorValue(op.operator, v);
    if (wrong !== undefined) throw malformed(`Statement[${i}]: ${op.operator} ${key}: ${wrong}`);
  }
  return { operator: op.operator, set: op.set, ifExists: op.ifExists, key: normalizeConditionKey(key), values };
}

function parseConditions(cond: unknown, i: number): PolicyCondition[] {
  if (cond === undefined) return [];
  if (cond === null || typeof cond !== 'object' || Array.isArray(cond)) throw malformed(`Statement[${i}].Condition must be an object`);
  const out: PolicyCondition[] = [];
  for (const [written, block] of Object.entries(cond)) {
    const m = /^(?:(ForAnyValue|ForAllValues):)?([A-Za-z]+?)(IfExists)?$/.exec(written);
    const operator = m?.[2];
    const known = operator !== undefined && (operator === 'Null' || Object.hasOwn(CONDITION_OPERATORS, operator));
    if (!m || !known || (operator === 'Null' && (m[1] || m[3]))) throw malformed(`Statement[${i}]: condition operator ${written} is not supported`);
    if (block === null || typeof block !== 'object' || Array.isArray(block)) throw malformed(`Statement[${i}].Condition.${written} must be an object`);
    for (const [key, value] of Object.entries(block)) {
      out.push(parseCondition(key, value, { written, operator: operator as string, set: m[1] as PolicyCondition['set'], ifExists: m[3] !== undefined }, i));
    }
  }
  return out;
}

// Policies change rarely and are evaluated on every request: keep each text's parse (bounded).
const parsedPolicies = new Map<string, PolicyStatement[]>();

/** `parsePolicyDocument`, remembered by policy text; only policies that parsed (and so were accepted) are kept. */
export function parsedPolicyDocument(text: string, kind: 'key' | 'iam' = 'key'): PolicyStatement[] {
  const cacheKey = `${kind}\u0000${text}`;
  let statements = parsedPolicies.get(cacheKey);
  if (!statements) {
    statements = parsePolicyDocument(text, kind);
    if (parsedPolicies.size >= 256) parsedPolicies.clear();
    parsedPolicies.set(cacheKey, statements);
  }
  return statements;
}

/**
 * Condition key names are case-insensitive, the part after kms:EncryptionContext: included (AWS: "the
 * key in the kms:EncryptionContext:context-key condition key is not case sensitive"); values are not.
 */
export function normalizeConditionKey(key: string): string {
  return key.toLowerCase();
}

function stringList(value: unknown, label: string): string[] {
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0 || list.some((v) => typeof v !== 'string')) throw malformed(`${label} must be a string or a list of strings`);
  return list as string[];
}

function malformed(detail: string): Error {
  return kmsError.malformedPolicy(`The policy is not valid: ${detail}.`);
}
