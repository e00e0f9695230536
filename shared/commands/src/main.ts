import { errorLine, EXIT, exitCodeFor, packageVersion, wantsVersion, processIo, type CliIo } from '@nitro-datakey/shared/cli';
import { cmsDecryptCommand, cmsEncryptCommand } from './cms-commands.js';
import { policyCommand } from './policy-command.js';
import { sealCommand } from './seal-command.js';
import { inspectCommand, verifyCommand } from './verify-command.js';

type Command = (argv: readonly string[], io: CliIo) => Promise<number>;

const COMMANDS: Record<string, { run: Command; summary: string }> = {
  verify: { run: verifyCommand, summary: 'verify an attestation document against the AWS Nitro root (or others)' },
  inspect: { run: inspectCommand, summary: 'decode an attestation document without verifying it' },
  'cms-decrypt': { run: cmsDecryptCommand, summary: 'decrypt a KMS CiphertextForRecipient with an RSA private key' },
  'cms-encrypt': { run: cmsEncryptCommand, summary: 'encrypt to an RSA public key in the CiphertextForRecipient layout' },
  policy: { run: policyCommand, summary: 'print a KMS key policy that releases a key to enclave images (and lets a sealer encrypt)' },
  seal: { run: sealCommand, summary: 'seal a secret for the enclave with your own AWS credentials (no Nitro hardware needed)' },
};

export function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  return `Usage: nitro-datakey COMMAND [options]

Commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`)
  .join('\n')}

Run "nitro-datakey COMMAND --help" for a command's options.
Exit status: 0 ok, 1 rejected or failed, 2 usage error.
`;
}

/** Runs the CLI and returns its exit status; never throws. */
export async function nitroDatakey(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  if (wantsVersion(argv)) {
    io.stdout(`${packageVersion(import.meta.url)}\n`);
    return EXIT.ok;
  }
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    (name === undefined ? io.stderr : io.stdout)(usage());
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  const command = COMMANDS[name];
  if (!command) {
    io.stderr(`nitro-datakey: unknown command ${JSON.stringify(name)}\n\n${usage()}`);
    return EXIT.usage;
  }
  try {
    return await command.run(rest, io);
  } catch (e) {
    io.stderr(errorLine(`nitro-datakey ${name}`, e));
    return exitCodeFor(e);
  }
}
