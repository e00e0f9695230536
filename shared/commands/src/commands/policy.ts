import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { InvalidArgumentError } from '@nitro-datakey/shared/errors';
import { ATTESTED_OPERATIONS, enclaveIamPolicy, enclaveKeyPolicy, measurementsFromJson, type AttestedOperation } from '@nitro-datakey/shared/policy';
import { type CliCommand, type CliIo, EXIT, UsageError } from '@nitro-datakey/shared/cli';

const POLICY_HELP = `Usage: nitro-datakey policy --measurements FILE [--measurements FILE] --account ID --role-arn ARN [options]

Prints a KMS key policy that releases the key to enclave images: the admin (default the account)
keeps management rights but no cryptographic operation; the enclave's role may call Decrypt,
GenerateDataKey, GenerateDataKeyPair and DeriveSharedSecret only with a Recipient whose PCRs match
one image (ImageSha384 = PCR0, and PCR1, PCR2, PCR8 when present) and may never manage the key or
create grants (the parent holds its credentials); an optional sealer may make ciphertext without
attestation but never decrypt; and a Deny refuses every other cryptographic call without an
attestation document.

Options:
  --measurements FILE     the JSON "nitro-cli build-enclave" prints (PCR0, PCR1, PCR2, and PCR8 if signed).
                          Repeat it during an upgrade (old image and new): each image gets its own
                          statement, so one image's PCRs never combine with another's
  --account ID            the 12-digit AWS account that owns the key
  --role-arn ARN          the parent instance's IAM role (the enclave calls KMS with its credentials);
                          it is explicitly denied every management action and grants
  --admin-arn ARN         who manages the key (default: the account root, i.e. IAM decides)
  --sealer-arn ARN        the operator who seals secrets ("nitro-datakey seal"): may call GenerateDataKey
                          and Encrypt without attestation, and is denied Decrypt, ReEncrypt, key pairs,
                          shared secrets, grants and key management
  --pcr N=HEX             require PCR N too, or override it, in every image (repeatable), e.g. PCR3 for
                          the role, PCR4 for the instance, PCR8 for the signing certificate
  --operations LIST       comma-separated subset of ${ATTESTED_OPERATIONS.join(',')}
  --iam-policy            print the IAM policy for the role instead (GenerateRandom, attested)
  --json                  print {"keyPolicy": ..., "iamPolicy": ...}
  -h, --help              show this help

Exit status: 0 ok, 2 usage error or unreadable input.
`;

export const policyCommand: CliCommand = {
  help: POLICY_HELP,
  run: (argv, { io }) => policy(argv, io),
};

async function policy(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      measurements: { type: 'string', multiple: true },
      account: { type: 'string' },
      'role-arn': { type: 'string' },
      'admin-arn': { type: 'string' },
      'sealer-arn': { type: 'string' },
      pcr: { type: 'string', multiple: true },
      operations: { type: 'string' },
      'iam-policy': { type: 'boolean' },
      json: { type: 'boolean' },
    },
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  if (!values.measurements || !values.account || !values['role-arn'])
    throw new UsageError('--measurements, --account and --role-arn are required (see --help)');
  const images: Map<number, string>[] = [];
  for (const file of values.measurements) {
    try {
      images.push(measurementsFromJson(JSON.parse(await readFile(file, 'utf8'))));
    } catch (e) {
      throw new UsageError(`--measurements ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
  for (const item of values.pcr ?? []) {
    const m = /^(\d{1,2})=([0-9a-fA-F]+)$/.exec(item);
    if (!m) throw new UsageError(`--pcr takes N=HEX, got ${JSON.stringify(item)}`);
    for (const pcrs of images) pcrs.set(Number(m[1]), (m[2] as string).toLowerCase());
  }
  const operations = values.operations?.split(',').map((s) => s.trim()) as AttestedOperation[] | undefined;
  const input = {
    account: values.account,
    roleArn: values['role-arn'],
    pcrs: images,
    ...(values['admin-arn'] ? { adminArn: values['admin-arn'] } : {}),
    ...(values['sealer-arn'] ? { sealerArn: values['sealer-arn'] } : {}),
    ...(operations ? { operations } : {}),
  };
  try {
    const keyPolicy = enclaveKeyPolicy(input);
    const iamPolicy = enclaveIamPolicy(input);
    const out = values.json ? { keyPolicy, iamPolicy } : values['iam-policy'] ? iamPolicy : keyPolicy;
    io.stdout(`${JSON.stringify(out, null, 2)}\n`);
    return EXIT.ok;
  } catch (e) {
    if (e instanceof InvalidArgumentError) throw new UsageError(e.message);
    throw e;
  }
}
