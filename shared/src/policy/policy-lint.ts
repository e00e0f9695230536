import { isRecipientAttestationKey } from './condition-keys.js';
import { MANAGEMENT_ACTIONS } from './key-policy.js';
import { type PolicyStatement, parsePolicyDocument } from './policy-document.js';
import { matchesWildcard } from './wildcard.js';

/*
 * The ways a key policy fails to hold a key to attested enclaves, found by reading it: each finding has
 * a stable code, the statement, and a fix. Errors let a key be used or taken over without attestation;
 * warnings weaken it.
 */

export type PolicyLintCode =
  | 'LINT_UNATTESTED_USE'
  | 'LINT_ROLE_CAN_MANAGE'
  | 'LINT_DEBUG_PCR'
  | 'LINT_IMAGE_PCR0_DIFFER'
  | 'LINT_UPPERCASE_HEX'
  | 'LINT_SIGNER_UNBOUND'
  | 'LINT_DENY_MATCHES_NOTHING';

export interface PolicyLintFinding {
  readonly code: PolicyLintCode;
  readonly level: 'error' | 'warning';
  /** The statement's Sid, or `Statement[i]`. */
  readonly statement: string;
  readonly message: string;
  readonly fix: string;
}

export interface PolicyLintOptions {
  /** The enclave's role (the parent holds its credentials). Default: every principal of an attested statement. */
  readonly roleArn?: string;
  /** The image was signed (its measurements carry PCR8): the policy should bind the signer. */
  readonly signed?: boolean;
}

/** The operations that hand out key material, and so must be attested for the enclave role. */
const CRYPTO_ACTIONS = [
  'kms:Decrypt',
  'kms:GenerateDataKey',
  'kms:GenerateDataKeyPair',
  'kms:GenerateDataKeyPairWithoutPlaintext',
  'kms:GenerateDataKeyWithoutPlaintext',
  'kms:DeriveSharedSecret',
  'kms:ReEncryptFrom',
  'kms:ReEncryptTo',
  'kms:Encrypt',
];
/** Those that return plaintext, the ones an attestation condition protects. */
const PLAINTEXT_ACTIONS = ['kms:Decrypt', 'kms:GenerateDataKey', 'kms:GenerateDataKeyPair', 'kms:DeriveSharedSecret'];
const KNOWN_ACTIONS = [...new Set([...CRYPTO_ACTIONS, ...MANAGEMENT_ACTIONS, 'kms:GenerateRandom', 'kms:GetPublicKey', 'kms:ListKeys'])];
const ZEROS = /^0+$/;
const PCR_KEY = /^kms:recipientattestation:pcr(\d+)$/;
const IMAGE_KEY = 'kms:recipientattestation:imagesha384';

const label = (st: PolicyStatement, i: number): string => st.sid ?? `Statement[${i}]`;
const actionsOf = (st: PolicyStatement, candidates: readonly string[]): string[] =>
  st.action === undefined
    ? []
    : candidates.filter(
        (a) => (st.action as NonNullable<PolicyStatement['action']>).values.some((p) => matchesWildcard(p, a, { ignoreCase: true })) !== st.action?.not,
      );
const isAttested = (st: PolicyStatement): boolean => st.conditions.some((c) => isRecipientAttestationKey(c.key) && c.operator !== 'Null');
const names = (st: PolicyStatement, principal: string): boolean =>
  st.principal !== undefined && !st.principal.not && st.principal.values.some((p) => p === '*' || p === principal || isAccountOf(p, principal));
const isAccountOf = (pattern: string, principal: string): boolean => {
  const account = /^(?:arn:aws[a-z-]*:iam::)?(\d{12})(?::root)?$/.exec(pattern)?.[1];
  return account !== undefined && principal.split(':')[4] === account;
};

/** A key policy (JSON text) -> its findings, errors first. */
export function lintKeyPolicy(text: string, options: PolicyLintOptions = {}): PolicyLintFinding[] {
  const statements = parsePolicyDocument(text, 'key');
  const roles = options.roleArn
    ? [options.roleArn]
    : [...new Set(statements.filter((st) => st.effect === 'Allow' && isAttested(st)).flatMap((st) => st.principal?.values ?? []))];
  const findings = [
    ...unattestedUse(statements, roles),
    ...roleCanManage(statements, roles),
    ...statements.flatMap((st, i) => conditionFindings(st, label(st, i), options.signed === true)),
    ...statements.flatMap((st, i) => denyMatchesNothing(st, label(st, i))),
  ];
  return [...findings.filter((f) => f.level === 'error'), ...findings.filter((f) => f.level === 'warning')];
}

/**
 * A role (or the account root, which delegates to the role's IAM: the parent may grant it kms:*) allowed a
 * plaintext-returning action without an attestation condition, and no Deny of such calls without one.
 */
function unattestedUse(statements: readonly PolicyStatement[], roles: readonly string[]): PolicyLintFinding[] {
  const guarded = (action: string) =>
    statements.some(
      (st) =>
        st.effect === 'Deny' &&
        actionsOf(st, [action]).length > 0 &&
        st.conditions.some((c) => c.operator === 'Null' && isRecipientAttestationKey(c.key) && c.values.includes('true')),
    );
  return statements.flatMap((st, i) => {
    if (st.effect !== 'Allow' || isAttested(st)) return [];
    const exposed = actionsOf(st, PLAINTEXT_ACTIONS).filter((a) => !guarded(a));
    const who = roles.find((role) => names(st, role));
    if (exposed.length === 0 || who === undefined) return [];
    return [
      {
        code: 'LINT_UNATTESTED_USE' as const,
        level: 'error' as const,
        statement: label(st, i),
        message: `${who} may call ${exposed.join(', ')} without an attestation document: the parent, which holds the role's credentials, gets plaintext`,
        fix:
          'add a kms:RecipientAttestation condition to the statement, or a Deny of those actions with ' +
          '"Null": {"kms:RecipientAttestation:ImageSha384": "true"}',
      },
    ];
  });
}

/** The enclave role able to change the policy or the key: the parent could take the key over. */
function roleCanManage(statements: readonly PolicyStatement[], roles: readonly string[]): PolicyLintFinding[] {
  return roles.flatMap((role) => {
    const denied = (action: string) =>
      statements.some((st) => st.effect === 'Deny' && names(st, role) && actionsOf(st, [action]).length > 0 && st.conditions.length === 0);
    return statements.flatMap((st, i) => {
      if (st.effect !== 'Allow' || !names(st, role)) return [];
      const open = actionsOf(st, ['kms:PutKeyPolicy', 'kms:CreateGrant', 'kms:ScheduleKeyDeletion', 'kms:UpdateAlias']).filter((a) => !denied(a));
      if (open.length === 0) return [];
      return [
        {
          code: 'LINT_ROLE_CAN_MANAGE' as const,
          level: 'error' as const,
          statement: label(st, i),
          message: `the enclave role ${role} may be granted ${open.join(', ')} (directly, or through the account's IAM, which the parent can change)`,
          fix: `add a Deny of the management actions for ${role} ("nitro-datakey policy" writes one: EnclaveRoleNeverManagesTheKey)`,
        },
      ];
    });
  });
}

/** Debug-mode zeros, ImageSha384 and PCR0 that disagree, upper-case hex under a case-sensitive operator, no signer. */
function conditionFindings(st: PolicyStatement, name: string, signed: boolean): PolicyLintFinding[] {
  const out: PolicyLintFinding[] = [];
  const attested = st.conditions.filter((c) => isRecipientAttestationKey(c.key) && c.operator !== 'Null');
  for (const c of attested) {
    const index = PCR_KEY.exec(c.key)?.[1];
    const early = c.key === IMAGE_KEY || (index !== undefined && Number(index) <= 2);
    if (early && c.values.some((v) => ZEROS.test(v)))
      out.push(finding('LINT_DEBUG_PCR', 'error', name, `${c.key} is all zeros: any debug-mode enclave matches it`, 'use the PCRs of the release build'));
    if (c.operator === 'StringEquals' && c.values.some((v) => /[A-F]/.test(v)))
      out.push(
        finding(
          'LINT_UPPERCASE_HEX',
          'error',
          name,
          `${c.key} is upper-case hex under StringEquals: KMS compares lower-case hex, so it never matches`,
          'write lower-case hex, or use StringEqualsIgnoreCase',
        ),
      );
  }
  const image = attested.find((c) => c.key === IMAGE_KEY);
  const pcr0 = attested.find((c) => c.key === 'kms:recipientattestation:pcr0');
  if (image && pcr0 && !image.values.some((v) => pcr0.values.some((p) => p.toLowerCase() === v.toLowerCase())))
    out.push(
      finding(
        'LINT_IMAGE_PCR0_DIFFER',
        'error',
        name,
        'ImageSha384 and PCR0 name different images: no enclave matches both',
        'give both the PCR0 of one build',
      ),
    );
  if (signed && attested.length > 0 && !attested.some((c) => c.key === 'kms:recipientattestation:pcr8'))
    out.push(
      finding(
        'LINT_SIGNER_UNBOUND',
        'warning',
        name,
        'the image is signed, and the statement does not bind the signer (PCR8)',
        'add kms:RecipientAttestation:PCR8',
      ),
    );
  return out;
}

/** A Deny whose actions name no KMS action (a typo) protects nothing. */
function denyMatchesNothing(st: PolicyStatement, name: string): PolicyLintFinding[] {
  if (st.effect !== 'Deny' || st.action === undefined || st.action.not || actionsOf(st, KNOWN_ACTIONS).length > 0) return [];
  return [
    finding(
      'LINT_DENY_MATCHES_NOTHING',
      'error',
      name,
      `the Deny names no KMS action (${st.action.values.join(', ')}): it refuses nothing`,
      'check the action names (kms:Decrypt, ...)',
    ),
  ];
}

function finding(code: PolicyLintCode, level: 'error' | 'warning', statement: string, message: string, fix: string): PolicyLintFinding {
  return { code, level, statement, message, fix };
}
