import { concatBytes } from '../bytes.js';
/*
 * Attested HTTP answers: the client sends a fresh nonce in a request header; the enclave's front answers
 * with an attestation document over that nonce whose user_data binds the answer: SHA-256 over a domain
 * label, the status code and the body. A proxy in between can neither swap the body nor replay an old
 * answer (the nonce) without the client refusing it.
 */

/** The request header carrying the client's nonce (hex, 16 to 64 bytes). */
export const ATTESTATION_NONCE_HEADER = 'x-nitro-attestation-nonce';
/** The response header carrying the enclave's attestation document (base64). */
export const ATTESTATION_DOCUMENT_HEADER = 'x-nitro-attestation';

const DOMAIN = new TextEncoder().encode('nitro-datakey attested-http v1\u0000');

/** The user_data an answer is bound by: SHA-256(domain ‖ status as 3 ASCII digits ‖ NUL ‖ body). */
export async function answerBinding(status: number, body: Uint8Array): Promise<Uint8Array> {
  // WebCrypto, not node:crypto: the client side of this runs in browsers and workers too.
  const input = concatBytes(DOMAIN, new TextEncoder().encode(`${String(status).padStart(3, '0')}\u0000`), body);
  return new Uint8Array(await crypto.subtle.digest('SHA-256', input));
}

/**
 * Attested TLS: the enclave's front holds a TLS key made inside the enclave and answers GET on this path
 * (`?nonce=HEX`) with a document whose public_key is that key's SubjectPublicKeyInfo (DER) and whose
 * user_data is `TLS_ATTESTATION_USER_DATA`. A client that finds the same key on its TLS connection
 * knows the connection ends inside the enclave (`attestedAgent`).
 */
export const TLS_ATTESTATION_PATH = '/.well-known/nitro-attestation';
/** user_data of a TLS key's document: says what the public_key is for, so no other document can stand in. */
export const TLS_ATTESTATION_USER_DATA: Uint8Array = new TextEncoder().encode('nitro-datakey attested-tls v1');
