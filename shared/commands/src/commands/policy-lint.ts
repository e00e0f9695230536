import { parseArgs } from 'node:util';
import { type CliCommand, type CliIo, EXIT, onePositional } from '@nitro-datakey/shared/cli';
import { lintKeyPolicy, measurementsFromJson } from '@nitro-datakey/shared/policy';
import { readPolicyFile, readTextFile } from '../policy-file.js';

const LINT_HELP = `Usage: nitro-datakey policy lint KEY_POLICY_FILE [--role-arn ARN] [--measurements FILE] [--json]

Flags the ways a key policy fails to hold a key to attested enclaves, each with a code, the statement
and a fix: the enclave role (or the account root, through IAM the parent can change) able to get
plaintext without an attestation document (LINT_UNATTESTED_USE) or to manage the key
(LINT_ROLE_CAN_MANAGE); a PCR0-2 condition on debug-mode zeros (LINT_DEBUG_PCR); ImageSha384 and PCR0
naming different images (LINT_IMAGE_PCR0_DIFFER); upper-case hex under StringEquals (LINT_UPPERCASE_HEX);
a signed image whose signer (PCR8) is not bound (LINT_SIGNER_UNBOUND, a warning); a Deny that names no
KMS action (LINT_DENY_MATCHES_NOTHING). KEY_POLICY_FILE is a policy document or "aws kms get-key-policy"
output.

Options:
  --role-arn ARN        the enclave's role (default: every principal of an attested statement)
  --measurements FILE   the image's "nitro-cli build-enclave" output: with PCR8, the signer must be bound
  --json                print {"findings": [...]}
  -h, --help            show this help

Exit status: 0 no error (warnings allowed), 1 an error-level finding, 2 usage error or unreadable input.
`;

export const policyLintCommand: CliCommand = { help: LINT_HELP, run: (argv, { io }) => lint(argv, io) };

async function lint(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: { 'role-arn': { type: 'string' }, measurements: { type: 'string' }, json: { type: 'boolean' } },
  });
  const file = onePositional(positionals, 'KEY_POLICY_FILE');
  const policy = await readPolicyFile(file, 'KEY_POLICY_FILE');
  const signed = values.measurements === undefined ? false : measurementsFromJson(JSON.parse(await readTextFile(values.measurements, '--measurements'))).has(8);
  const findings = lintKeyPolicy(policy, { ...(values['role-arn'] ? { roleArn: values['role-arn'] } : {}), signed });
  if (values.json) io.stdout(`${JSON.stringify({ findings })}\n`);
  else if (findings.length === 0) io.stdout('no findings\n');
  else for (const f of findings) io.stdout(`${f.level.toUpperCase()} ${f.code} ${f.statement}: ${f.message}\n  fix: ${f.fix}\n`);
  return findings.some((f) => f.level === 'error') ? EXIT.rejected : EXIT.ok;
}
