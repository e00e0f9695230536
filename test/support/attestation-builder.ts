import type { AttestationDocument } from '@nitro-datakey/shared';
import { encodeAttestationPayload, signCoseSign1Es384 } from '@nitro-datakey/shared/testing';
import type { KeyObject } from 'node:crypto';
import type { NitroChain } from '@nitro-datakey/devkit';

/** 16 PCRs of 48 bytes, as a production enclave reports them; PCR0-2 all zero in debug mode. */
export function makePcrs(options: { debug?: boolean; fill?: (index: number) => number } = {}): Map<number, Uint8Array> {
  const pcrs = new Map<number, Uint8Array>();
  for (let i = 0; i < 16; i++) {
    const zero = (options.debug && i <= 2) || (i >= 5 && i !== 8);
    pcrs.set(i, new Uint8Array(48).fill(zero ? 0 : (options.fill?.(i) ?? 0x10 + i)));
  }
  return pcrs;
}

export interface DocumentSpec {
  readonly chain: NitroChain;
  readonly timestamp: number;
  readonly moduleId?: string;
  readonly pcrs?: ReadonlyMap<number, Uint8Array>;
  readonly publicKey?: Uint8Array | null;
  readonly userData?: Uint8Array | null;
  readonly nonce?: Uint8Array | null;
  /** Sign with another key than the leaf's. */
  readonly signingKey?: KeyObject;
}

/** The typed document a spec describes. */
function documentFor(spec: DocumentSpec): AttestationDocument {
  return {
    moduleId: spec.moduleId ?? 'i-0123456789abcdef0-enc0123456789abcdef',
    digest: 'SHA384',
    timestamp: spec.timestamp,
    pcrs: spec.pcrs ?? makePcrs(),
    certificate: spec.chain.leaf.der,
    cabundle: spec.chain.cabundle,
    publicKey: spec.publicKey ?? null,
    userData: spec.userData ?? null,
    nonce: spec.nonce ?? null,
  };
}

/** A signed attestation document in the NSM's layout. */
export function buildAttestationDocument(spec: DocumentSpec): Uint8Array {
  return signPayload(encodeAttestationPayload(documentFor(spec)), spec.signingKey ?? spec.chain.leaf.keyPair.privateKey);
}

/**
 * The payload as an ordered object of raw CBOR values, for tests that break one field.
 * Encode with `encodeCbor` and sign with `signPayload`.
 */
export function rawPayloadFields(spec: DocumentSpec): Record<string, unknown> {
  const doc = documentFor(spec);
  return {
    module_id: doc.moduleId,
    digest: doc.digest,
    timestamp: BigInt(doc.timestamp),
    pcrs: new Map(doc.pcrs),
    certificate: doc.certificate,
    cabundle: [...doc.cabundle],
    public_key: doc.publicKey,
    user_data: doc.userData,
    nonce: doc.nonce,
  };
}

export function signPayload(payload: Uint8Array, key: KeyObject, options: { tagged?: boolean } = {}): Uint8Array {
  return signCoseSign1Es384(payload, key, options);
}
