import { type CliOptions, type CliProgram, commandList, type LazyCliCommand, packageVersion, runCli } from '@nitro-datakey/shared/cli';
import { POLICY_HELP } from './commands/policy-help.js';

/** Each command's module loads when it runs: `--version` and `--help` load no verifier, CMS or KMS SDK. */
const COMMANDS: Record<string, LazyCliCommand | CliProgram> = {
  verify: {
    summary: 'verify an attestation document against the AWS Nitro root (or others)',
    load: async () => (await import('./commands/verify.js')).verifyCommand,
  },
  inspect: { summary: 'decode an attestation document without verifying it', load: async () => (await import('./commands/inspect.js')).inspectCommand },
  'cms-decrypt': {
    summary: 'decrypt a KMS CiphertextForRecipient with an RSA private key',
    load: async () => (await import('./commands/cms-decrypt.js')).cmsDecryptCommand,
  },
  'cms-encrypt': {
    summary: 'encrypt to an RSA public key in the CiphertextForRecipient layout',
    load: async () => (await import('./commands/cms-encrypt.js')).cmsEncryptCommand,
  },
  policy: {
    name: 'nitro-datakey policy',
    summary: 'print a KMS key policy that releases a key to enclave images; "policy explain" and "policy lint" read one',
    help: POLICY_HELP,
    commands: {
      explain: { summary: 'why a call is allowed or denied', load: async () => (await import('./commands/policy-explain.js')).policyExplainCommand },
      lint: { summary: 'the ways a key policy fails to enforce attestation', load: async () => (await import('./commands/policy-lint.js')).policyLintCommand },
    },
    service: async (argv, context) => (await import('./commands/policy.js')).policyCommand.run(argv, context),
  },
  seal: {
    summary: 'seal a secret for the enclave with your own AWS credentials (no Nitro hardware needed)',
    load: async () => (await import('./commands/seal.js')).sealCommand,
  },
};

export function usage(): string {
  return `Usage: nitro-datakey COMMAND [options]

Commands:
${commandList(COMMANDS)}

Run "nitro-datakey COMMAND --help" for a command's options.
Exit status: 0 ok, 1 rejected or failed, 2 usage error.
`;
}

/** Runs the CLI and returns its exit status; never throws. */
export function nitroDatakey(argv: readonly string[], options: CliOptions = {}): Promise<number> {
  return runCli({ name: 'nitro-datakey', help: usage(), version: () => packageVersion(import.meta.url), commands: COMMANDS }, argv, options);
}
