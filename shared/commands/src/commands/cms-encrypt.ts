import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { buildCiphertextForRecipient } from '@nitro-datakey/shared/testing';
import { type CliCommand, type CliIo, EXIT, onePositional, UsageError, refuseBinaryToTerminal } from '@nitro-datakey/shared/cli';
import { outputFormat, readRsaKey, writeBytes } from '../cms-output.js';

const CMS_ENCRYPT_HELP = `Usage: nitro-datakey cms-encrypt --recipient KEY FILE [--format binary|hex|base64]

Encrypts FILE ("-" for standard input; 1 byte to 64 KiB) to an RSA public key in KMS's
CiphertextForRecipient layout and writes the BER to standard output: what KMS would send an enclave
whose attestation document carries that key.

Options:
  --recipient FILE             the recipient's RSA public key: PEM or DER SubjectPublicKeyInfo, or an
                               X.509 certificate (PEM)
  --format binary|hex|base64   how to print the BER (default binary)
  -h, --help                   show this help

Exit status: 0 ok, 1 failed, 2 usage error or unreadable input.
`;

const MAX_PLAINTEXT = 64 * 1024;

export const cmsEncryptCommand: CliCommand = {
  help: CMS_ENCRYPT_HELP,
  run: (argv, { io }) => cmsEncrypt(argv, io),
};

async function cmsEncrypt(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: { recipient: { type: 'string' }, format: { type: 'string' } },
  });
  if (values.recipient === undefined) throw new UsageError('--recipient KEY is required');
  const format = outputFormat(values.format);
  refuseBinaryToTerminal(io, format, values.format !== undefined);
  const publicKey = await readRsaKey(values.recipient, 'public');
  const file = onePositional(positionals);
  let plaintext: Uint8Array;
  try {
    plaintext = file === '-' ? await io.readStdin() : new Uint8Array(await readFile(file));
  } catch (cause) {
    throw new UsageError(`cannot read ${file}: ${(cause as NodeJS.ErrnoException).code ?? String(cause)}`);
  }
  if (plaintext.byteLength === 0) throw new UsageError('input is empty');
  if (plaintext.byteLength > MAX_PLAINTEXT) throw new UsageError(`input is larger than ${MAX_PLAINTEXT} bytes`);
  writeBytes(io, buildCiphertextForRecipient(plaintext, publicKey), format);
  return EXIT.ok;
}
