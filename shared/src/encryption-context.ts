import { InvalidArgumentError } from './errors.js';

/**
 * Unambiguous, order-independent encoding of an encryption context (string -> string): entries sorted
 * by the UTF-8 bytes of their keys, each key and value prefixed by its length (u32 big-endian), the
 * whole prefixed by the entry count. Two contexts encode equally exactly when they are equal.
 */
export function canonicalEncryptionContext(context: Readonly<Record<string, string>>): Uint8Array {
  // Callers in plain JavaScript can pass anything: a typed refusal, never a TypeError from deep inside.
  if (context === null || typeof context !== 'object' || Array.isArray(context)) {
    throw new InvalidArgumentError('an encryption context must be an object of string values');
  }
  for (const [k, v] of Object.entries(context)) {
    if (typeof v !== 'string')
      throw new InvalidArgumentError(`encryption context value ${JSON.stringify(k)} must be a string, got ${v === null ? 'null' : typeof v}`);
  }
  const entries = Object.entries(context).map(([k, v]) => [Buffer.from(k, 'utf8'), Buffer.from(v, 'utf8')] as const);
  entries.sort(([a], [b]) => Buffer.compare(a, b));
  const parts: Buffer[] = [u32(entries.length)];
  for (const [k, v] of entries) parts.push(u32(k.length), k, u32(v.length), v);
  return new Uint8Array(Buffer.concat(parts));
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}
