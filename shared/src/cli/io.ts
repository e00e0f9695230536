import type { KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { UsageError } from './exit.js';

/** Where a command writes; injectable so tests run commands in-process. */
export interface CliIo {
  /** Text, or raw bytes written as they are (plaintext, BER). */
  readonly stdout: (data: string | Uint8Array) => void;
  readonly stderr: (text: string) => void;
  readonly readStdin: () => Promise<Uint8Array>;
  /** Standard output is a terminal: binary output is refused there unless asked for (refuseBinaryToTerminal). */
  readonly stdoutIsTerminal?: boolean;
}

export const processIo: CliIo = {
  get stdoutIsTerminal() {
    return process.stdout.isTTY === true;
  },
  stdout: (data) => process.stdout.write(data),
  stderr: (text) => process.stderr.write(text),
  readStdin: async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return new Uint8Array(Buffer.concat(chunks));
  },
};

/** The one positional argument a command takes. */
export function onePositional(positionals: readonly string[], what = 'FILE argument (or "-" for stdin)'): string {
  if (positionals.length !== 1) throw new UsageError(`expected exactly one ${what}, got ${positionals.length}`);
  return positionals[0] as string;
}

const MAX_INPUT_BYTES = 4 * 1024 * 1024;

/** Reads FILE (or stdin for `-`) and accepts raw binary, hex or base64 (standard or URL-safe). */
export async function readBinaryInput(path: string, io: CliIo, isBinary: (bytes: Uint8Array) => boolean): Promise<Uint8Array> {
  let bytes: Uint8Array;
  try {
    bytes = path === '-' ? await io.readStdin() : new Uint8Array(await readFile(path));
  } catch (cause) {
    throw new UsageError(`cannot read ${path === '-' ? 'standard input' : path}: ${(cause as NodeJS.ErrnoException).code ?? String(cause)}`);
  }
  if (bytes.byteLength > MAX_INPUT_BYTES) throw new UsageError(`input is larger than ${MAX_INPUT_BYTES} bytes`);
  if (bytes.byteLength === 0) throw new UsageError('input is empty');
  if (isBinary(bytes)) return bytes;
  const text = Buffer.from(bytes).toString('latin1').replace(/\s+/g, '');
  if (/^(?:[0-9a-fA-F]{2})+$/.test(text)) return new Uint8Array(Buffer.from(text, 'hex'));
  if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(text) && text.replace(/=+$/, '').length % 4 !== 1) {
    return new Uint8Array(Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64'));
  }
  return bytes; // not text we recognise: let the parser say what is wrong with it
}

/** Repeated `K=V` arguments (an encryption context) as a map; a pair without a key is a usage error. */
export function parseContextArgs(pairs: readonly string[] | undefined, flag = '--context'): Record<string, string> {
  const context: Record<string, string> = {};
  for (const pair of pairs ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`${flag} takes K=V, got ${JSON.stringify(pair)}`);
    context[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return context;
}

export function parseHexArg(value: string, flag: string): Uint8Array {
  const body = value.startsWith('0x') ? value.slice(2) : value;
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(body)) throw new UsageError(`${flag} must be hex (an even number of hex digits)`);
  return new Uint8Array(Buffer.from(body, 'hex'));
}

/** ISO-8601 or milliseconds since the epoch. */
export function parseTimeArg(value: string, flag: string): Date {
  const date = /^\d+$/.test(value) ? new Date(Number(value)) : new Date(value);
  if (Number.isNaN(date.getTime()) || (!/^\d+$/.test(value) && !/^\d{4}-\d\d-\d\d/.test(value))) {
    throw new UsageError(`${flag} must be an ISO-8601 time or milliseconds since the epoch, got ${JSON.stringify(value)}`);
  }
  return date;
}

/**
 * A key file: PEM (any form Node reads, a certificate for a public key) or DER (PKCS#8 private,
 * SubjectPublicKeyInfo public). An unreadable or unparsable file is a usage error naming it.
 */
export async function readKeyFile(path: string, kind: 'private' | 'public'): Promise<KeyObject> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (cause) {
    throw new UsageError(`cannot read ${path}: ${(cause as NodeJS.ErrnoException).code ?? String(cause)}`);
  }
  // node:crypto loads here, not with the kit: the parent proxy uses the kit and never reads a key.
  const { createPrivateKey, createPublicKey } = await import('node:crypto');
  const pem = bytes.subarray(0, 64).toString('latin1').includes('-----BEGIN ');
  // Node would derive the public key from a private one: a private key handed around where a public
  // one is asked for is a mistake to stop, not to serve.
  if (kind === 'public' && pem && /-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----/.test(bytes.toString('latin1'))) {
    throw new UsageError(`${path} holds a private key; give the public key (openssl pkey -in ${path} -pubout -out public.pem)`);
  }
  try {
    if (pem) return kind === 'private' ? createPrivateKey(bytes.toString('utf8')) : createPublicKey(bytes.toString('utf8'));
    return kind === 'private' ? createPrivateKey({ key: bytes, format: 'der', type: 'pkcs8' }) : createPublicKey({ key: bytes, format: 'der', type: 'spki' });
  } catch {
    throw new UsageError(
      `${path} is not a ${kind === 'private' ? 'private key (PEM, or PKCS#8 DER)' : 'public key (PEM or DER SubjectPublicKeyInfo) or certificate'}`,
    );
  }
}

/**
 * The secret to seal, from FILE or standard input (`-`), as given: never decoded, since a secret may
 * well look like hex. Unreadable is a usage error; so is empty, a mistake (an unset shell variable, an
 * empty file), never something to seal: it would ship an envelope that opens to nothing.
 */
export async function readSecretInput(file: string, io: CliIo): Promise<Uint8Array> {
  const where = file === '-' ? 'standard input' : file;
  let secret: Uint8Array;
  try {
    secret = file === '-' ? await io.readStdin() : new Uint8Array(await readFile(file));
  } catch (e) {
    throw new UsageError(`cannot read ${where}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  if (secret.byteLength === 0) throw new UsageError(`${where} is empty: there is no secret to seal (an unset variable?)`);
  return secret;
}

/**
 * As openssl does: raw bytes (BER, a document, plaintext) are not written to a terminal, where they
 * garble the screen and may leave key material in its scrollback, unless `--format binary` asks for
 * them. A redirect or a text format is the way.
 */
export function refuseBinaryToTerminal(io: CliIo, format: string, explicitFormat: boolean): void {
  if (format === 'binary' && !explicitFormat && io.stdoutIsTerminal === true) {
    throw new UsageError(
      'refusing to write binary output to a terminal: redirect it (> out.bin), or give --format hex or base64 (--format binary writes it anyway)',
    );
  }
}
