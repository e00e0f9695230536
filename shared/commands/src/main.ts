import { type CliOptions, commandList, packageVersion, runCli } from '@nitro-datakey/shared/cli';
import { cmsDecryptCommand } from './commands/cms-decrypt.js';
import { cmsEncryptCommand } from './commands/cms-encrypt.js';
import { inspectCommand } from './commands/inspect.js';
import { policyCommand } from './commands/policy.js';
import { sealCommand } from './commands/seal.js';
import { verifyCommand } from './commands/verify.js';

const COMMANDS = {
  verify: verifyCommand,
  inspect: inspectCommand,
  'cms-decrypt': cmsDecryptCommand,
  'cms-encrypt': cmsEncryptCommand,
  policy: policyCommand,
  seal: sealCommand,
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
