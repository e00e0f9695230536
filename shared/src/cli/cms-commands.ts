import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { buildCiphertextForRecipient, CmsError, decryptCiphertextForRecipient } from '../cms/index.js';
import { EXIT, UsageError } from './exit.js';
import { onePositional, readBinaryInput, type CliIo } from './io.js';

export const CMS_DECRYPT_HELP = `Usage: nitro-datakey cms-decrypt --key KEY.pem FILE [--hex]

Decrypts a KMS CiphertextForRecipient (CMS EnvelopedData, RSAES-OAEP-SHA-256, AES-256-CBC) with
the recipient's RSA private key and writes the plaintext to standard output. FILE is binary BER,
hex or base64 (as in KMS's JSON); "-" reads standard input.

Options:
  --key FILE                     the recipient's RSA private key (PEM, PKCS#8 or PKCS#1)
  --hex                          print the plaintext as hex instead of raw bytes
  --allow-issuer-and-serial      accept an issuer-and-serial recipient, as "openssl cms -encrypt" makes
                                 by default (KMS always uses a subjectKeyIdentifier)
  -h, --help                     show this help

Exit status: 0 decrypted, 1 refused or failed to decrypt, 2 usage error or unreadable input.
`;

export const CMS_ENCRYPT_HELP = `Usage: nitro-datakey cms-encrypt --recipient PUB.pem FILE

Encrypts FILE ("-" for standard input) to an RSA public key in KMS's CiphertextForRecipient layout
and writes the BER to standard output: what KMS would send an enclave whose attestation document
carries that key.

Options:
  --recipient FILE   the recipient's RSA public key (PEM SubjectPublicKeyInfo, or an X.509 certificate)
  --base64           print base64 instead of raw bytes
  -h, --help         show this help

Exit status: 0 ok, 1 failed, 2 usage error or unreadable input.
`;

const MAX_PLAINTEXT = 64 * 1024;

export async function cmsDecryptCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      key: { type: 'string' },
      hex: { type: 'boolean' },
      'allow-issuer-and-serial': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    io.stdout(CMS_DECRYPT_HELP);
    return EXIT.ok;
  }
  if (values.key === undefined) throw new UsageError('--key KEY.pem is required');
  const privateKey = await loadKey(values.key, 'private');
  // BER CMS starts with a SEQUENCE (0x30).
  const bytes = await readBinaryInput(onePositional(positionals), io, (b) => b[0] === 0x30);
  try {
    const plaintext = decryptCiphertextForRecipient(bytes, privateKey, { allowIssuerAndSerialNumber: values['allow-issuer-and-serial'] === true });
    if (values.hex) io.stdout(`${Buffer.from(plaintext).toString('hex')}\n`);
    else io.stdout(plaintext.slice()); // the stream may hold the buffer after write() returns
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
    options: { recipient: { type: 'string' }, base64: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    io.stdout(CMS_ENCRYPT_HELP);
    return EXIT.ok;
  }
  if (values.recipient === undefined) throw new UsageError('--recipient PUB.pem is required');
  const publicKey = await loadKey(values.recipient, 'public');
  const file = onePositional(positionals);
  let plaintext: Uint8Array;
  try {
    plaintext = file === '-' ? await io.readStdin() : new Uint8Array(await readFile(file));
  } catch (cause) {
    throw new UsageError(`cannot read ${file}: ${(cause as NodeJS.ErrnoException).code ?? String(cause)}`);
  }
  if (plaintext.byteLength > MAX_PLAINTEXT) throw new UsageError(`input is larger than ${MAX_PLAINTEXT} bytes`);
  const ber = buildCiphertextForRecipient(plaintext, publicKey);
  io.stdout(values.base64 ? `${Buffer.from(ber).toString('base64')}\n` : ber);
  return EXIT.ok;
}

async function loadKey(path: string, kind: 'private' | 'public'): Promise<KeyObject> {
  let pem: string;
  try {
    pem = await readFile(path, 'utf8');
  } catch (cause) {
    throw new UsageError(`cannot read ${path}: ${(cause as NodeJS.ErrnoException).code ?? String(cause)}`);
  }
  let key: KeyObject;
  try {
    key = kind === 'private' ? createPrivateKey(pem) : createPublicKey(pem);
  } catch {
    throw new UsageError(`${path} is not a PEM ${kind === 'private' ? 'private key' : 'public key or certificate'}`);
  }
  if (key.asymmetricKeyType !== 'rsa') throw new UsageError(`${path} holds a ${key.asymmetricKeyType} key; an RSA key is required`);
  return key;
}
