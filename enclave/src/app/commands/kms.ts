import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { Nsm } from '@nitro-datakey/shared';
import { type CliCommand, type CliIo, EXIT, parseContextArgs, readBinaryInput, readKeyFile, UsageError } from '@nitro-datakey/shared/cli';
import type { AttestedKmsClient } from '../../kms/attested-client.js';
import { createClient } from '../app.js';
import { loadEnclaveConfig } from '../config.js';

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
export function kmsCommand(openNsm: () => Promise<Nsm> | Nsm): CliCommand {
  return {
    help: KMS_USAGE,
    run: (argv, { io }) => kms(argv, io, openNsm),
  };
}

const OPTIONS = {
  config: { type: 'string' },
  'key-id': { type: 'string' },
  'key-spec': { type: 'string' },
  bytes: { type: 'string' },
  context: { type: 'string', multiple: true },
  'public-key': { type: 'string' },
  format: { type: 'string' },
  out: { type: 'string' },
} as const;

type Values = ReturnType<typeof parseArgs<{ args: string[]; allowPositionals: true; options: typeof OPTIONS }>>['values'];

/** One call, its inputs read and checked: a discriminated union on the operation. */
type KmsCall =
  | { readonly operation: 'decrypt'; readonly ciphertext: Uint8Array; readonly keyId: string | undefined; readonly context: Record<string, string> }
  | {
      readonly operation: 'genkey';
      readonly keyId: string;
      readonly size: { readonly KeySpec: 'AES_256' | 'AES_128' } | { readonly NumberOfBytes: number };
      readonly context: Record<string, string>;
    }
  | { readonly operation: 'genrandom'; readonly bytes: number }
  | { readonly operation: 'derive'; readonly keyId: string; readonly peerKey: Uint8Array };

/** What a call opened inside the enclave, and for genkey the wrapped key beside it. */
interface KmsSecret {
  readonly secret: Uint8Array;
  readonly meta?: Record<string, string>;
}

async function kms(argv: readonly string[], io: CliIo, openNsm: () => Promise<Nsm> | Nsm): Promise<number> {
  const [operation, ...rest] = argv;
  if (operation === undefined) {
    io.stderr(KMS_USAGE);
    return EXIT.usage;
  }
  const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: OPTIONS });
  if (values.config === undefined) throw new UsageError('--config FILE is required');
  const format = values.format ?? 'binary';
  if (!(FORMATS as readonly string[]).includes(format)) throw new UsageError(`--format takes ${FORMATS.join(', ')}`);
  // Everything the call needs is read and checked before the NSM is opened or KMS is asked.
  const call = await readCall(operation, values, positionals, io);
  const config = await loadEnclaveConfig(values.config);
  const client = await createClient(config, await openNsm());
  let opened: KmsSecret;
  try {
    opened = await callKms(client, call);
  } finally {
    client.close();
  }
  try {
    await writeSecret(opened, format as (typeof FORMATS)[number], values.out, io);
    return EXIT.ok;
  } finally {
    opened.secret.fill(0);
  }
}

async function readCall(operation: string, values: Values, positionals: readonly string[], io: CliIo): Promise<KmsCall> {
  const context = parseContextArgs(values.context);
  const bytes = bytesOption(values.bytes);
  if (operation !== 'decrypt' && positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  switch (operation) {
    case 'decrypt': {
      // A ciphertext with a byte outside printable ASCII is raw; text is hex or base64 (as KMS's JSON carries it).
      const ciphertext = await readBinaryInput(onlyOne(positionals), io, (b) => b.some((c) => c < 0x09 || (c > 0x0d && c < 0x20) || c > 0x7e));
      return { operation, ciphertext, keyId: values['key-id'], context };
    }
    case 'genkey':
      return { operation, keyId: requiredKeyId(values), size: dataKeySize(values['key-spec'], bytes), context };
    case 'genrandom':
      if (bytes === undefined) throw new UsageError('--bytes N is required');
      return { operation, bytes };
    case 'derive': {
      const peerKey = await readPublicKey(values['public-key'] ?? fail('--public-key FILE is required'));
      return { operation, keyId: requiredKeyId(values), peerKey };
    }
    default:
      throw new UsageError(`unknown kms operation ${JSON.stringify(operation)} (decrypt, genkey, genrandom, derive)`);
  }
}

async function callKms(client: AttestedKmsClient, call: KmsCall): Promise<KmsSecret> {
  switch (call.operation) {
    case 'decrypt':
      return {
        secret: (await client.decrypt({ CiphertextBlob: call.ciphertext, EncryptionContext: call.context, ...(call.keyId ? { KeyId: call.keyId } : {}) }))
          .plaintext,
      };
    case 'genkey': {
      const dk = await client.generateDataKey({ KeyId: call.keyId, ...call.size, EncryptionContext: call.context });
      return { secret: dk.plaintext, meta: { keyId: dk.keyId, ciphertextBlob: Buffer.from(dk.ciphertextBlob).toString('base64') } };
    }
    case 'genrandom':
      return { secret: await client.generateRandom({ NumberOfBytes: call.bytes }) };
    case 'derive':
      return { secret: (await client.deriveSharedSecret({ KeyId: call.keyId, PublicKey: call.peerKey })).sharedSecret };
  }
}

/** The secret to --out FILE (created 0600, never over an existing file) or standard output; genkey's metadata beside it. */
async function writeSecret({ secret, meta }: KmsSecret, format: (typeof FORMATS)[number], out: string | undefined, io: CliIo): Promise<void> {
  const encoded = format === 'binary' ? secret.slice() : encodeSecretText(secret, format);
  try {
    if (out) {
      await writeFile(out, encoded, { mode: 0o600, flag: 'wx' });
      if (meta) io.stdout(`${JSON.stringify(meta)}\n`);
    } else {
      io.stdout(encoded);
      if (meta) io.stderr(`${JSON.stringify(meta)}\n`);
    }
  } finally {
    encoded.fill(0);
  }
}

function bytesOption(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const bytes = Number(text);
  if (!(Number.isInteger(bytes) && bytes >= 1 && bytes <= 1024)) throw new UsageError('--bytes must be 1 to 1024');
  return bytes;
}

function dataKeySize(keySpec: string | undefined, bytes: number | undefined): { KeySpec: 'AES_256' | 'AES_128' } | { NumberOfBytes: number } {
  if (bytes !== undefined && keySpec !== undefined) throw new UsageError('give --key-spec or --bytes, not both');
  if (bytes !== undefined) return { NumberOfBytes: bytes };
  if (keySpec !== undefined && keySpec !== 'AES_256' && keySpec !== 'AES_128') throw new UsageError('--key-spec takes AES_256 or AES_128');
  return { KeySpec: keySpec ?? 'AES_256' };
}

const requiredKeyId = (values: Values): string => values['key-id'] ?? fail('--key-id KEY is required');

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
