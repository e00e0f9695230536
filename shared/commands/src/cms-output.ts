import type { KeyObject } from 'node:crypto';
import { type CliIo, readKeyFile, UsageError } from '@nitro-datakey/shared/cli';

/** The output formats of the CMS commands: raw bytes (the default), or text a terminal shows. */
const FORMATS = ['binary', 'hex', 'base64'] as const;
export type OutputFormat = (typeof FORMATS)[number];

/** The one `--format` flag of the CMS commands. */
export function outputFormat(value: string | undefined): OutputFormat {
  if (value === undefined) return 'binary';
  if (!(FORMATS as readonly string[]).includes(value)) throw new UsageError(`--format takes ${FORMATS.join(', ')}, got ${JSON.stringify(value)}`);
  return value as OutputFormat;
}

export function writeBytes(io: CliIo, bytes: Uint8Array, format: OutputFormat): void {
  if (format === 'binary')
    io.stdout(bytes.slice()); // the stream may hold the buffer after write() returns
  else io.stdout(`${Buffer.from(bytes).toString(format)}\n`);
}

/** An RSA key from PEM (any form Node reads) or DER (PKCS#8 private, SubjectPublicKeyInfo public). */
export async function readRsaKey(path: string, kind: 'private' | 'public'): Promise<KeyObject> {
  const key = await readKeyFile(path, kind);
  if (key.asymmetricKeyType !== 'rsa') throw new UsageError(`${path} holds a ${key.asymmetricKeyType} key; an RSA key is required`);
  return key;
}
