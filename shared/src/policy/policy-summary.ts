import type { PolicyCondition, PolicyMatch, PolicyStatement } from './policy-document.js';

/*
 * A policy as a reviewer reads it: who may do what, under which measurements, and what is denied,
 * statement by statement, without the JSON. Works on any parsed key or identity policy.
 */

const ATTESTATION_PREFIX = 'kms:recipientattestation:';

function principalText(principal: PolicyMatch | undefined): string {
  if (principal === undefined) return 'the principal this policy is attached to';
  const names = [...principal.values, ...(principal.services ?? []).map((s) => `service ${s}`)].map((v) => (v === '*' ? 'anyone' : v));
  return principal.not ? `anyone but ${names.join(', ')}` : names.join(', ');
}

function actionText(action: PolicyMatch | undefined): string {
  if (action === undefined) return 'nothing';
  const names = action.values.map((a) => (a === 'kms:*' || a === '*' ? 'every KMS action' : a.replace(/^kms:/i, '')));
  return action.not ? `every action but ${names.join(', ')}` : names.join(', ');
}

// The parser keeps condition keys lower-case (IAM compares them so); these are shown as AWS spells them.
const SPELLING: Readonly<Record<string, string>> = {
  'aws:principalarn': 'aws:PrincipalArn',
  'aws:principalaccount': 'aws:PrincipalAccount',
  'aws:principaltype': 'aws:PrincipalType',
  'aws:principalorgid': 'aws:PrincipalOrgID',
  'aws:sourceip': 'aws:SourceIp',
  'aws:sourcevpce': 'aws:SourceVpce',
  'kms:calleraccount': 'kms:CallerAccount',
  'kms:viaservice': 'kms:ViaService',
  'kms:encryptioncontextkeys': 'kms:EncryptionContextKeys',
  'kms:grantisforawsresource': 'kms:GrantIsForAWSResource',
};

/** `kms:RecipientAttestation:ImageSha384` -> `ImageSha384 (PCR0)`, `...:PCR1` -> `PCR1`; others as AWS spells them. */
function keyText(key: string): string {
  const lower = key.toLowerCase();
  if (!lower.startsWith(ATTESTATION_PREFIX)) return SPELLING[lower] ?? key;
  const name = lower.slice(ATTESTATION_PREFIX.length);
  if (name === 'imagesha384') return 'ImageSha384 (PCR0)';
  return /^pcr\d+$/.test(name) ? name.toUpperCase() : name;
}

function conditionLines(conditions: readonly PolicyCondition[]): string[] {
  const attested = conditions.filter((c) => c.key.toLowerCase().startsWith(ATTESTATION_PREFIX) && c.operator !== 'Null');
  const lines: string[] = [];
  if (attested.length > 0) {
    lines.push(`    only with an attestation document (Recipient) showing, ${attested[0]?.operator}:`);
    const width = Math.max(...attested.map((c) => keyText(c.key).length));
    for (const c of attested) lines.push(`      ${keyText(c.key).padEnd(width)}  ${c.values.join(' or ')}`);
  }
  for (const c of conditions) {
    if (attested.includes(c)) continue;
    if (c.operator === 'Null') {
      const absent = c.values.includes('true');
      const attestation = c.key.toLowerCase().startsWith(ATTESTATION_PREFIX);
      if (attestation) lines.push(`    when the request has ${absent ? 'no' : 'an'} attestation document (Recipient)`);
      else lines.push(`    when ${keyText(c.key)} is ${absent ? 'absent' : 'present'}`);
    } else {
      const prefix = `${c.set ? `${c.set}:` : ''}${c.operator}${c.ifExists ? 'IfExists' : ''}`;
      lines.push(`    when ${keyText(c.key)} ${prefix} ${c.values.join(' or ')}`);
    }
  }
  return lines;
}

function statementLines(statement: PolicyStatement): string[] {
  const sid = statement.sid ? `  [${statement.sid}]` : '';
  return [`  ${principalText(statement.principal)}${sid}`, `    ${actionText(statement.action)}`, ...conditionLines(statement.conditions)];
}

/** The summary as lines of text: the allows first (who may do what, and under which measurements), then the denies. */
export function summarizePolicy(statements: readonly PolicyStatement[]): string {
  const allowed = statements.filter((s) => s.effect === 'Allow');
  const denied = statements.filter((s) => s.effect === 'Deny');
  return [
    `${statements.length} statement(s). An explicit Deny wins over any Allow; what no statement allows is refused.`,
    '',
    'ALLOWED',
    ...(allowed.length ? allowed.flatMap(statementLines) : ['  nothing']),
    '',
    'DENIED, whatever else allows it',
    ...(denied.length ? denied.flatMap(statementLines) : ['  nothing']),
    '',
  ].join('\n');
}
