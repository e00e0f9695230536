import { parseArgs } from 'node:util';
import { decodeAttestation } from '@nitro-datakey/shared/attestation';
import { toHex } from '@nitro-datakey/shared/bytes';
import { type CliCommand, type CliIo, EXIT, parseContextArgs, readBinaryInput, UsageError } from '@nitro-datakey/shared/cli';
import {
  authorizeKms,
  checkStatement,
  kmsRequestConditions,
  type PolicyCaller,
  type PolicyRequest,
  type PolicyStatement,
  parsePolicyDocument,
  policyCaller,
} from '@nitro-datakey/shared/policy';
import { looksLikeCose } from '../input-kinds.js';
import { readPolicyFile } from '../policy-file.js';

const EXPLAIN_HELP = `Usage: nitro-datakey policy explain --key-policy FILE --principal ARN --action ACTION [options]

Answers "why was I denied?" for an AWS KMS call: decides it as AWS does from the key policy and the
caller's identity policies, and prints the decision, the statement that made it, and for each statement
that did not apply the first thing that did not match; for a condition, what it wanted and what the
request had (for example PCR0 of the enclave against the policy's).

Options:
  --key-policy FILE        the key policy: a policy document, or what "aws kms get-key-policy" prints
  --identity-policy FILE   an identity (IAM) policy of the caller (or of its role); repeatable
  --iam strict|permissive  with no --identity-policy: strict (default) as AWS, the caller has none;
                           permissive models an IAM that allows it all
  --principal ARN          the caller: a user, a role, an assumed-role session, or an account root
  --action ACTION          e.g. kms:Decrypt (or Decrypt)
  --key-arn ARN            the key (default: a key in the caller's account)
  --attestation FILE       an attestation document (binary, hex or base64) whose PCRs the Recipient
                           carries; decoded, not verified (verify it with "nitro-datakey verify")
  --pcr N=HEX              a Recipient PCR instead of, or over, the document's (repeatable)
  --context K=V            an encryption-context pair (repeatable)
  --json                   print one JSON object
  -h, --help               show this help

Exit status: 0 allowed, 1 denied, 2 usage error or unreadable input.
`;

export const policyExplainCommand: CliCommand = { help: EXPLAIN_HELP, run: (argv, { io }) => explain(argv, io) };

const OPTIONS = {
  'key-policy': { type: 'string' },
  'identity-policy': { type: 'string', multiple: true },
  iam: { type: 'string' },
  principal: { type: 'string' },
  action: { type: 'string' },
  'key-arn': { type: 'string' },
  attestation: { type: 'string' },
  pcr: { type: 'string', multiple: true },
  context: { type: 'string', multiple: true },
  json: { type: 'boolean' },
} as const;

type Values = ReturnType<typeof parseArgs<{ args: string[]; allowPositionals: true; options: typeof OPTIONS }>>['values'];

/** One statement's outcome, for the reader. */
interface StatementReport {
  readonly policy: string;
  readonly statement: string;
  readonly effect: 'Allow' | 'Deny';
  readonly applies: boolean;
  readonly mismatch?: string;
}

async function explain(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({ args: [...argv], allowPositionals: true, options: OPTIONS });
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  if (!values['key-policy'] || !values.principal || !values.action) throw new UsageError('--key-policy, --principal and --action are required (see --help)');
  if (values.iam !== undefined && values.iam !== 'strict' && values.iam !== 'permissive') throw new UsageError('--iam takes strict or permissive');
  const keyPolicy = parsePolicyDocument(await readPolicyFile(values['key-policy'], '--key-policy'), 'key');
  const identity = await Promise.all(
    (values['identity-policy'] ?? []).map(async (f) => parsePolicyDocument(await readPolicyFile(f, '--identity-policy'), 'iam')),
  );
  const caller = policyCaller(values.principal);
  if (caller.account === undefined) throw new UsageError(`--principal ${values.principal} is not an IAM or STS ARN`);
  const request = await requestFrom(values, caller, io);
  const keyAccount = /^arn:aws[a-z-]*:kms:[^:]+:(\d{12}):/.exec(request.resourceArn)?.[1];
  const verdict = authorizeKms({
    keyPolicy,
    ...(keyAccount ? { keyAccount } : {}),
    identityPolicies: identity.length === 0 && values.iam === 'permissive' ? 'permissive' : identity,
    caller,
    request,
  });
  const statements = [
    ...report('key policy', keyPolicy, request, caller),
    ...identity.flatMap((policy, i) => report(`identity policy ${i + 1}`, policy, request, caller)),
  ];
  if (values.json) io.stdout(`${JSON.stringify({ ...verdict, statements })}\n`);
  else io.stdout(explanationText(verdict.decision, verdict.reason, statements));
  return verdict.decision === 'Allow' ? EXIT.ok : EXIT.rejected;
}

async function requestFrom(values: Values, caller: PolicyCaller, io: CliIo): Promise<PolicyRequest> {
  const action = (values.action as string).includes(':') ? (values.action as string) : `kms:${values.action}`;
  const pcrs = new Map<number, string>();
  if (values.attestation !== undefined) {
    const document = decodeAttestation(await readBinaryInput(values.attestation, io, looksLikeCose)).document;
    for (const [index, value] of document.pcrs) pcrs.set(index, toHex(value));
  }
  for (const item of values.pcr ?? []) {
    const m = /^(\d{1,2})=([0-9a-fA-F]{96})$/.exec(item);
    if (!m || Number(m[1]) > 31) throw new UsageError(`--pcr takes N=HEX (N 0 to 31, 96 hex digits), got ${JSON.stringify(item)}`);
    pcrs.set(Number(m[1]), (m[2] as string).toLowerCase());
  }
  const roleArn = caller.role ? `arn:aws:iam::${caller.role.account}:role/${caller.role.name}` : undefined;
  return {
    principalArn: caller.arn,
    action,
    resourceArn: values['key-arn'] ?? `arn:aws:kms:us-east-1:${caller.account}:key/00000000-0000-0000-0000-000000000000`,
    conditions: kmsRequestConditions({
      principalArn: caller.arn,
      ...(roleArn ? { roleArn } : {}),
      ...(pcrs.size > 0 ? { pcrs } : {}),
      encryptionContext: parseContextArgs(values.context),
    }),
  };
}

function report(policy: string, statements: readonly PolicyStatement[], request: PolicyRequest, caller: PolicyCaller): StatementReport[] {
  return statements.map((st, i) => {
    const check = checkStatement(st, request, caller);
    const base = { policy, statement: st.sid ?? `Statement[${i}]`, effect: st.effect, applies: check.applies };
    if (check.applies || check.miss === undefined) return base;
    if (check.miss.part !== 'condition') return { ...base, mismatch: `its ${check.miss.part} does not match` };
    const { condition, seen } = check.miss;
    const operator = `${condition.set ? `${condition.set}:` : ''}${condition.operator}${condition.ifExists ? 'IfExists' : ''}`;
    return {
      ...base,
      mismatch: `${operator} ${condition.key} wants ${JSON.stringify(condition.values)}, the request has ${seen.length ? JSON.stringify(seen) : 'no value'}`,
    };
  });
}

function explanationText(decision: string, reason: string, statements: readonly StatementReport[]): string {
  const lines = [`${decision === 'Allow' ? 'ALLOWED' : decision === 'ExplicitDeny' ? 'DENIED (explicit deny)' : 'DENIED (no allow)'}: ${reason}`, ''];
  for (const s of statements) {
    lines.push(`  ${s.applies ? 'applies ' : 'skipped '} ${s.policy} ${s.statement} (${s.effect})${s.mismatch ? `: ${s.mismatch}` : ''}`);
  }
  return `${lines.join('\n')}\n`;
}
