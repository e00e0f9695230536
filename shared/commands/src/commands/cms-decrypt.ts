import { parseArgs } from 'node:util';
import { CmsError, decryptCiphertextForRecipient } from '@nitro-datakey/shared/cms';
import { type CliCommand, type CliIo, EXIT, onePositional, readBinaryInput, UsageError, refuseBinaryToTerminal } from '@nitro-datakey/shared/cli';
import { outputFormat, readRsaKey, writeBytes } from '../cms-output.js';
import { looksLikeBer } from '../input-kinds.js';

const CMS_DECRYPT_HELP = `Usage: nitro-datakey cms-decrypt --key KEY FILE [--format binary|hex|base64]

Decrypts a KMS CiphertextForRecipient (CMS EnvelopedData, RSAES-OAEP-SHA-256, AES-256-CBC) with
the recipient's RSA private key and writes the plaintext to standard output. FILE is binary BER,
hex or base64 (as in KMS's JSON); "-" reads standard input.

Options:
  --key FILE                     the recipient's RSA private key: PEM (PKCS#8 or PKCS#1) or DER (PKCS#8)
  --format binary|hex|base64     how to print the plaintext (default binary: the raw bytes)
  --allow-issuer-and-serial      accept an issuer-and-serial recipient, as "openssl cms -encrypt" makes
                                 by default (KMS always uses a subjectKeyIdentifier)
  -h, --help                     show this help

Exit status: 0 decrypted, 1 refused or failed to decrypt, 2 usage error or unreadable input.
`;

export const cmsDecryptCommand: CliCommand = {
  help: CMS_DECRYPT_HELP,
  run: (argv, { io }) => cmsDecrypt(argv, io),
};

async function cmsDecrypt(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      key: { type: 'string' },
      format: { type: 'string' },
      'allow-issuer-and-serial': { type: 'boolean' },
    },
  });
  if (values.key === undefined) throw new UsageError('--key KEY is required');
  const format = outputFormat(values.format);
  refuseBinaryToTerminal(io, format, values.format !== undefined);
  const privateKey = await readRsaKey(values.key, 'private');
  const bytes = await readBinaryInput(onePositional(positionals), io, looksLikeBer);
  try {
    const plaintext = decryptCiphertextForRecipient(bytes, privateKey, { allowIssuerAndSerialNumber: values['allow-issuer-and-serial'] === true });
    writeBytes(io, plaintext, format);
    plaintext.fill(0);
    return EXIT.ok;
  } catch (e) {
    if (!(e instanceof CmsError)) throw e;
    io.stderr(`REFUSED ${e.code}: ${e.message}\n`);
    return EXIT.rejected;
  }
}
