import { fromBase64, fromHex } from '@nitro-datakey/shared/web';

/** A document as typed or pasted: hex or base64 (standard or URL-safe), whitespace ignored. */
export function documentFromText(text: string): Uint8Array {
  const compact = text.replace(/\s+/g, '');
  if (compact === '') throw new Error('paste or drop a document first');
  if (/^(0x)?[0-9a-fA-F]+$/.test(compact) && compact.length % 2 === 0) return fromHex(compact, 'the document');
  return fromBase64(compact.replace(/-/g, '+').replace(/_/g, '/'), 'the document (hex or base64)');
}

/** A dropped file: binary CBOR as it is, a text file read as hex or base64. */
export function documentFromFile(bytes: Uint8Array): Uint8Array {
  // A COSE_Sign1 starts with an array of four (0x84) or tag 18 (0xd2); text never does.
  if (bytes[0] === 0x84 || bytes[0] === 0xd2) return bytes;
  return documentFromText(new TextDecoder().decode(bytes));
}
