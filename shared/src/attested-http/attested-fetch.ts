import type { AttestationExpectations } from '../attestation/expectations.js';
import type { VerifiedAttestation } from '../attestation/verification.js';
import { bytesEqual, fromBase64, toHex } from '../bytes.js';
import { InvalidArgumentError, NitroDatakeyError } from '../errors.js';
import { ATTESTATION_DOCUMENT_HEADER, ATTESTATION_NONCE_HEADER, answerBinding } from './binding.js';

export type AttestedFetchErrorCode =
  /** The answer carries no attestation document: refused, never passed on unverified. */
  | 'ERR_ATTESTED_FETCH_MISSING'
  /** The document's PCRs are none of the allowed sets. */
  | 'ERR_ATTESTED_FETCH_PCRS'
  /** The document is not bound to this answer (its status or body was changed on the way). */
  | 'ERR_ATTESTED_FETCH_BINDING';

export class AttestedFetchError extends NitroDatakeyError {
  declare readonly code: AttestedFetchErrorCode;

  constructor(code: AttestedFetchErrorCode, message: string) {
    super(code, message);
  }
}

/**
 * What checks a document: an AttestationVerifier (Node) or WebAttestationVerifier (browsers, workers)
 * pinned to the root you trust; its typed errors pass through.
 */
export interface DocumentVerifier {
  verify(bytes: Uint8Array, expectations: AttestationExpectations): VerifiedAttestation | Promise<VerifiedAttestation>;
}

export interface AttestedFetchOptions {
  readonly verifier: DocumentVerifier;
  /** The PCR sets the enclave may have (several during a roll-over): each index -> hex; one set must match whole. */
  readonly pcrSets: readonly Readonly<Record<number, string>>[];
  /** The oldest document accepted, in ms (default 60 000). */
  readonly maxAgeMs?: number;
  /** Refuse debug-mode enclaves (default true). */
  readonly denyDebug?: boolean;
  readonly fetch?: typeof fetch;
}

export interface AttestedResponse {
  readonly response: Response;
  /** The body, read whole (it had to be, to check the binding). */
  readonly body: Uint8Array;
  readonly attestation: VerifiedAttestation;
}

/**
 * fetch() for a service in a Nitro Enclave, failing closed: a fresh nonce goes out in
 * `x-nitro-attestation-nonce`; the answer must carry the enclave's document in `x-nitro-attestation`,
 * verified against the verifier's pinned root, over that nonce, younger than `maxAgeMs`, with PCRs matching
 * one of `pcrSets` and user_data binding this status and body. Anything else throws.
 */
export async function attestedFetch(input: string | URL, init: RequestInit, options: AttestedFetchOptions): Promise<AttestedResponse> {
  if (options.pcrSets.length === 0) throw new InvalidArgumentError('attestedFetch needs at least one PCR set');
  const nonce = crypto.getRandomValues(new Uint8Array(32));
  const headers = new Headers(init.headers);
  headers.set(ATTESTATION_NONCE_HEADER, toHex(nonce));
  const response = await (options.fetch ?? fetch)(input, { ...init, headers });
  const body = new Uint8Array(await response.arrayBuffer());
  const header = response.headers.get(ATTESTATION_DOCUMENT_HEADER);
  if (header === null || header === '')
    throw new AttestedFetchError(
      'ERR_ATTESTED_FETCH_MISSING',
      `the answer from ${String(input)} carries no attestation document (${ATTESTATION_DOCUMENT_HEADER})`,
    );
  // Nonce, age, debug mode and the chain are the verifier's: its AttestationError says which failed.
  const attestation = await options.verifier.verify(readDocumentHeader(header), {
    nonce,
    maxAgeMs: options.maxAgeMs ?? 60_000,
    denyDebug: options.denyDebug ?? true,
  });
  const binding = await answerBinding(response.status, body);
  if (attestation.userData === null || !bytesEqual(attestation.userData, binding))
    throw new AttestedFetchError(
      'ERR_ATTESTED_FETCH_BINDING',
      'the attestation document is not bound to this answer: its status or body was changed on the way',
    );
  checkPcrSets(attestation, options.pcrSets);
  return { response, body, attestation };
}

function readDocumentHeader(header: string): Uint8Array {
  try {
    return fromBase64(header.trim(), ATTESTATION_DOCUMENT_HEADER);
  } catch {
    // Not base64 is not a document: the verifier's parser gives it its malformed-document error.
    return new Uint8Array(0);
  }
}

/** The document's PCRs must match one of `pcrSets` whole (several during a roll-over). */
export function checkPcrSets(attestation: VerifiedAttestation, pcrSets: readonly Readonly<Record<number, string>>[]): void {
  const matches = (set: Readonly<Record<number, string>>) =>
    Object.entries(set).every(([index, hex]) => {
      const value = attestation.pcrs.get(Number(index));
      return value !== undefined && toHex(value) === hex.toLowerCase();
    });
  if (!pcrSets.some(matches)) {
    const pcr0 = toHex(attestation.pcrs.get(0) ?? new Uint8Array());
    throw new AttestedFetchError('ERR_ATTESTED_FETCH_PCRS', `the enclave's PCRs (PCR0 ${pcr0.slice(0, 16)}...) are none of the ${pcrSets.length} allowed sets`);
  }
}
