import type { KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { CmsError, decryptCiphertextForRecipient } from '@nitro-datakey/shared/cms';
import { buildCiphertextForRecipient } from '@nitro-datakey/shared/testing';
import { EXIT, UsageError, onePositional, readBinaryInput, readKeyFile, type CliIo } from '@nitro-datakey/shared/cli';

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
const FORMATS = ['binary', 'hex', 'base64'] as const;
type OutputFormat = (typeof FORMATS)[number];

/** The one output-format flag of the CMS commands. */
function outputFormat(value: string | undefined): OutputFormat {
  if (value === undefined) return 'binary';
  if (!(FORMATS as readonly string[]).includes(value)) throw new UsageError(`--format takes ${FORMATS.join(', ')}, got ${JSON.stringify(value)}`);
  return value as OutputFormat;
}

function write(io: CliIo, bytes: Uint8Array, format: OutputFormat): void {
  if (format === 'binary')
    io.stdout(bytes.slice()); // the stream may hold the buffer after write() returns
  else io.stdout(`${Buffer.from(bytes).toString(format)}\n`);
}

export async function cmsDecryptCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      key: { type: 'string' },
      format: { type: 'string' },
      'allow-issuer-and-serial': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    io.stdout(CMS_DECRYPT_HELP);
    return EXIT.ok;
  }
  if (values.key === undefined) throw new UsageError('--key KEY is required');
  const format = outputFormat(values.format);
  const privateKey = await loadKey(values.key, 'private');
  // BER CMS starts with a SEQUENCE (0x30).
  const bytes = await readBinaryInput(onePositional(positionals), io, (b) => b[0] === 0x30);
  try {
    const plaintext = decryptCiphertextForRecipient(bytes, privateKey, { allowIssuerAndSerialNumber: values['allow-issuer-and-serial'] === true });
    write(io, plaintext, format);
    plaintext.fill(0);
    return EXIT.ok;
  } catch (e) {
    if (!(e instanceof CmsError)) throw e;
    io.stderr(`REFUSED ${e.code}: ${e.message}\n`);
    return EXIT.rejected;
  }
}

export async function cmsEncryptCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: { recipient: { type: 'string' }, format: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    io.stdout(CMS_ENCRYPT_HELP);
    return EXIT.ok;
  }
  if (values.recipient === undefined) throw new UsageError('--recipient KEY is required');
  const format = outputFormat(values.format);
  const publicKey = await loadKey(values.recipient, 'public');
  const file = onePositional(positionals);
  let plaintext: Uint8Array;
  try {
    plaintext = file === '-' ? await io.readStdin() : new Uint8Array(await readFile(file));
  } catch (cause) {
    throw new UsageError(`cannot read ${file}: ${(cause as NodeJS.ErrnoException).code ?? String(cause)}`);
  }
  if (plaintext.byteLength === 0) throw new UsageError('input is empty');
  if (plaintext.byteLength > MAX_PLAINTEXT) throw new UsageError(`input is larger than ${MAX_PLAINTEXT} bytes`);
  write(io, buildCiphertextForRecipient(plaintext, publicKey), format);
  return EXIT.ok;
}

/** An RSA key from PEM (any form Node reads) or DER (PKCS#8 private, SubjectPublicKeyInfo public). */
async function loadKey(path: string, kind: 'private' | 'public'): Promise<KeyObject> {
  const key = await readKeyFile(path, kind);
  if (key.asymmetricKeyType !== 'rsa') throw new UsageError(`${path} holds a ${key.asymmetricKeyType} key; an RSA key is required`);
  return key;
}
