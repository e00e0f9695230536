import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { InvalidArgumentError } from '@nitro-datakey/shared/errors';
import {
  enclaveIamPolicy,
  enclaveKeyPolicy,
  measurementsFromJson,
  parsePolicyDocument,
  summarizePolicy,
  type AttestedOperation,
} from '@nitro-datakey/shared/policy';
import { type CliCommand, type CliIo, EXIT, jsonSyntaxProblem, UsageError } from '@nitro-datakey/shared/cli';
import { POLICY_HELP } from './policy-help.js';

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
      summary: { type: 'boolean' },
    },
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  if (!values.measurements || !values.account || !values['role-arn'])
    throw new UsageError('--measurements, --account and --role-arn are required (see --help)');
  const images = await readImages(values.measurements, values.pcr ?? []);
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
    if (values.summary) {
      if (values.json) throw new UsageError('--summary is text for a reviewer; --json is for scripts: give one');
      const chosen = values['iam-policy'] ? iamPolicy : keyPolicy;
      io.stdout(summarizePolicy(parsePolicyDocument(JSON.stringify(chosen), values['iam-policy'] ? 'iam' : 'key')));
      return EXIT.ok;
    }
    const out = values.json ? { keyPolicy, iamPolicy } : values['iam-policy'] ? iamPolicy : keyPolicy;
    io.stdout(`${JSON.stringify(out, null, 2)}\n`);
    return EXIT.ok;
  } catch (e) {
    if (e instanceof InvalidArgumentError) throw new UsageError(e.message);
    throw e;
  }
}

/** Each --measurements file's PCRs, with every --pcr N=HEX applied to each image. */
async function readImages(files: readonly string[], pcrItems: readonly string[]): Promise<Map<number, string>[]> {
  const images: Map<number, string>[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      throw new UsageError(`cannot read --measurements ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new UsageError(`--measurements ${file}: ${jsonSyntaxProblem(text)}`);
    }
    try {
      images.push(measurementsFromJson(json));
    } catch (e) {
      throw new UsageError(`--measurements ${file}: ${(e as Error).message}`);
    }
  }
  for (const item of pcrItems) {
    const m = /^(\d{1,2})=([0-9a-fA-F]+)$/.exec(item);
    if (!m) throw new UsageError(`--pcr takes N=HEX, got ${JSON.stringify(item)}`);
    for (const pcrs of images) pcrs.set(Number(m[1]), (m[2] as string).toLowerCase());
  }
  return images;
}
