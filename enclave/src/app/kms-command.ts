import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { Nsm } from '@nitro-datakey/shared';
import { type CliIo, EXIT, parseContextArgs, readBinaryInput, readKeyFile, UsageError } from '@nitro-datakey/shared/cli';
import { createClient } from './app.js';
import { loadEnclaveConfig } from './config.js';

const KMS_USAGE = `Usage: nitro-enclave kms decrypt   --config FILE [--key-id KEY] [--context K=V]... CIPHERTEXT_FILE|-
       nitro-enclave kms genkey    --config FILE --key-id KEY [--key-spec AES_256|AES_128 | --bytes N] [--context K=V]...
       nitro-enclave kms genrandom --config FILE --bytes N
       nitro-enclave kms derive    --config FILE --key-id KEY --public-key FILE
  with, on each: [--format binary|hex|base64] [--out FILE]

One attested KMS call from a shell, through the parent proxy, with the same configuration as the enclave
app (region, kms, credentials, keys, kms.allowedKeys): the counterpart of AWS's kmstool-enclave-cli. The
secret (plaintext, data key, random bytes, shared secret) is opened inside the enclave and written to
--out FILE (created 0600) or standard output, as raw bytes (binary, the default), hex or base64.
genkey also prints {"keyId", "ciphertextBlob"} (base64) as one JSON line on standard error when the key
goes to standard output, or on standard output with --out.

Exit status: 0 ok, 1 refused or failed, 2 usage or configuration error.
`;

const FORMATS = ['binary', 'hex', 'base64'] as const;

/** `nitro-enclave kms ...`: one attested call, its secret written where the caller says. */
export async function kmsCommand(argv: readonly string[], io: CliIo, openNsm: () => Promise<Nsm> | Nsm): Promise<number> {
  const [operation, ...rest] = argv;
  if (operation === undefined || operation === '--help' || operation === '-h' || rest.includes('--help') || rest.includes('-h')) {
    (operation === undefined ? io.stderr : io.stdout)(KMS_USAGE);
    return operation === undefined ? EXIT.usage : EXIT.ok;
  }
  if (!['decrypt', 'genkey', 'genrandom', 'derive'].includes(operation))
    throw new UsageError(`unknown kms operation ${JSON.stringify(operation)} (decrypt, genkey, genrandom, derive)`);
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      config: { type: 'string' },
      'key-id': { type: 'string' },
      'key-spec': { type: 'string' },
      bytes: { type: 'string' },
      context: { type: 'string', multiple: true },
      'public-key': { type: 'string' },
      format: { type: 'string' },
      out: { type: 'string' },
    },
  });
  if (values.config === undefined) throw new UsageError('--config FILE is required');
  const format = values.format ?? 'binary';
  if (!(FORMATS as readonly string[]).includes(format)) throw new UsageError(`--format takes ${FORMATS.join(', ')}`);
  const context = parseContextArgs(values.context);
  const bytes = values.bytes === undefined ? undefined : Number(values.bytes);
  if (bytes !== undefined && !(Number.isInteger(bytes) && bytes >= 1 && bytes <= 1024)) throw new UsageError('--bytes must be 1 to 1024');
  const needKey = () => values['key-id'] ?? fail('--key-id KEY is required');
  // Everything the call needs is read and checked before the NSM is opened or KMS is asked. A ciphertext
  // with a byte outside printable ASCII is raw; text is hex or base64 (as KMS's JSON carries it).
  const ciphertext =
    operation === 'decrypt' ? await readBinaryInput(onlyOne(positionals), io, (b) => b.some((c) => c < 0x09 || (c > 0x0d && c < 0x20) || c > 0x7e)) : undefined;
  const peerKey = operation === 'derive' ? await readPublicKey(values['public-key'] ?? fail('--public-key FILE is required')) : undefined;
  if (operation !== 'decrypt' && positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  if (operation === 'genrandom' && bytes === undefined) throw new UsageError('--bytes N is required');
  if (operation === 'genkey' && bytes !== undefined && values['key-spec'] !== undefined) throw new UsageError('give --key-spec or --bytes, not both');
  const keySpec = values['key-spec'] ?? (bytes === undefined ? 'AES_256' : undefined);
  if (keySpec !== undefined && keySpec !== 'AES_256' && keySpec !== 'AES_128') throw new UsageError('--key-spec takes AES_256 or AES_128');
  const keyId = operation === 'genrandom' ? undefined : operation === 'decrypt' ? values['key-id'] : needKey();

  const config = await loadEnclaveConfig(values.config);
  const client = await createClient(config, await openNsm());
  let secret: Uint8Array;
  let meta: Record<string, string> | undefined;
  try {
    switch (operation) {
      case 'decrypt':
        secret = (await client.decrypt({ CiphertextBlob: ciphertext as Uint8Array, EncryptionContext: context, ...(keyId ? { KeyId: keyId } : {}) })).plaintext;
        break;
      case 'genkey': {
        const dk = await client.generateDataKey({
          KeyId: keyId as string,
          ...(keySpec ? { KeySpec: keySpec as 'AES_256' | 'AES_128' } : { NumberOfBytes: bytes as number }),
          EncryptionContext: context,
        });
        secret = dk.plaintext;
        meta = { keyId: dk.keyId, ciphertextBlob: Buffer.from(dk.ciphertextBlob).toString('base64') };
        break;
      }
      case 'genrandom':
        secret = await client.generateRandom({ NumberOfBytes: bytes as number });
        break;
      default:
        secret = (await client.deriveSharedSecret({ KeyId: keyId as string, PublicKey: peerKey as Uint8Array })).sharedSecret;
    }
  } finally {
    client.close();
  }
  try {
    const encoded = format === 'binary' ? secret.slice() : encodeSecretText(secret, format as 'hex' | 'base64');
    if (values.out) {
      await writeFile(values.out, encoded, { mode: 0o600, flag: 'wx' });
      if (meta) io.stdout(`${JSON.stringify(meta)}\n`);
    } else {
      io.stdout(encoded);
      if (meta) io.stderr(`${JSON.stringify(meta)}\n`);
    }
    encoded.fill(0);
    return EXIT.ok;
  } finally {
    secret.fill(0);
  }
}

const HEX_DIGITS = new TextEncoder().encode('0123456789abcdef');
const BASE64_DIGITS = new TextEncoder().encode('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/');

/**
 * `secret` as hex or base64 text and a newline, written digit by digit into bytes of their own: no
 * JavaScript string and no Buffer from Node's shared pool holds a copy that the zeroing cannot reach.
 */
function encodeSecretText(secret: Uint8Array, format: 'hex' | 'base64'): Uint8Array {
  if (format === 'hex') {
    const out = new Uint8Array(secret.byteLength * 2 + 1);
    secret.forEach((b, i) => {
      out[2 * i] = HEX_DIGITS[b >> 4] as number;
      out[2 * i + 1] = HEX_DIGITS[b & 15] as number;
    });
    out[out.length - 1] = 0x0a;
    return out;
  }
  const out = new Uint8Array(Math.ceil(secret.byteLength / 3) * 4 + 1);
  let o = 0;
  for (let i = 0; i < secret.byteLength; i += 3) {
    const left = secret.byteLength - i;
    const n = ((secret[i] as number) << 16) | ((left > 1 ? (secret[i + 1] as number) : 0) << 8) | (left > 2 ? (secret[i + 2] as number) : 0);
    out[o++] = BASE64_DIGITS[(n >> 18) & 63] as number;
    out[o++] = BASE64_DIGITS[(n >> 12) & 63] as number;
    out[o++] = left > 1 ? (BASE64_DIGITS[(n >> 6) & 63] as number) : 0x3d;
    out[o++] = left > 2 ? (BASE64_DIGITS[n & 63] as number) : 0x3d;
  }
  out[o] = 0x0a;
  return out;
}

function fail(message: string): never {
  throw new UsageError(message);
}

function onlyOne(positionals: readonly string[]): string {
  if (positionals.length !== 1) throw new UsageError('decrypt takes one CIPHERTEXT_FILE (or - for standard input): raw, hex or base64');
  return positionals[0] as string;
}

/** The other party's public key for derive: PEM or DER SubjectPublicKeyInfo, as DER. */
async function readPublicKey(path: string): Promise<Uint8Array> {
  return new Uint8Array((await readKeyFile(path, 'public')).export({ format: 'der', type: 'spki' }));
}
