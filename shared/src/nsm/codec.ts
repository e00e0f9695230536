import { decodeCbor, encodeCbor } from '../cbor/index.js';
import { NSM_DEVICE_ERRORS, NsmError, type NsmDeviceError } from './errors.js';

/*
 * NSM messages are CBOR in serde's externally tagged enum form (aws-nitro-enclaves-nsm-api):
 * unit variants are a bare text string ("GetRandom"), struct variants a one-entry map from the
 * variant name to a map of fields in declaration order, Option::None is null, byte fields are bstr.
 */

export type NsmDigest = 'SHA256' | 'SHA384' | 'SHA512';

export type NsmRequest =
  | { readonly type: 'DescribeNSM' }
  | { readonly type: 'GetRandom' }
  | { readonly type: 'DescribePCR'; readonly index: number }
  | { readonly type: 'ExtendPCR'; readonly index: number; readonly data: Uint8Array }
  | { readonly type: 'LockPCR'; readonly index: number }
  | { readonly type: 'LockPCRs'; readonly range: number }
  | {
      readonly type: 'Attestation';
      readonly userData: Uint8Array | null;
      readonly nonce: Uint8Array | null;
      readonly publicKey: Uint8Array | null;
    };

export type NsmResponse =
  | { readonly type: 'DescribePCR'; readonly lock: boolean; readonly data: Uint8Array }
  | { readonly type: 'ExtendPCR'; readonly data: Uint8Array }
  | { readonly type: 'LockPCR' }
  | { readonly type: 'LockPCRs' }
  | {
      readonly type: 'DescribeNSM';
      readonly versionMajor: number;
      readonly versionMinor: number;
      readonly versionPatch: number;
      readonly moduleId: string;
      readonly maxPcrs: number;
      readonly lockedPcrs: readonly number[];
      readonly digest: NsmDigest;
    }
  | { readonly type: 'Attestation'; readonly document: Uint8Array }
  | { readonly type: 'GetRandom'; readonly random: Uint8Array }
  | { readonly type: 'Error'; readonly error: NsmDeviceError };

/** The device's buffers: requests up to 0x1000 bytes, responses up to 0x3000. */
export const NSM_MAX_REQUEST_BYTES = 0x1000;
export const NSM_MAX_RESPONSE_BYTES = 0x3000;

export function encodeNsmRequest(request: NsmRequest): Uint8Array {
  switch (request.type) {
    case 'DescribeNSM':
    case 'GetRandom':
      return encodeCbor(request.type);
    case 'DescribePCR':
    case 'LockPCR':
      return encodeCbor({ [request.type]: { index: request.index } });
    case 'ExtendPCR':
      return encodeCbor({ ExtendPCR: { index: request.index, data: request.data } });
    case 'LockPCRs':
      return encodeCbor({ LockPCRs: { range: request.range } });
    case 'Attestation':
      return encodeCbor({ Attestation: { user_data: request.userData, nonce: request.nonce, public_key: request.publicKey } });
  }
}

export function encodeNsmResponse(response: NsmResponse): Uint8Array {
  switch (response.type) {
    case 'LockPCR':
    case 'LockPCRs':
      return encodeCbor(response.type);
    case 'DescribePCR':
      return encodeCbor({ DescribePCR: { lock: response.lock, data: response.data } });
    case 'ExtendPCR':
      return encodeCbor({ ExtendPCR: { data: response.data } });
    case 'DescribeNSM':
      return encodeCbor({
        DescribeNSM: {
          version_major: response.versionMajor,
          version_minor: response.versionMinor,
          version_patch: response.versionPatch,
          module_id: response.moduleId,
          max_pcrs: response.maxPcrs,
          locked_pcrs: [...response.lockedPcrs].sort((a, b) => a - b), // a BTreeSet: sorted, unique
          digest: response.digest,
        },
      });
    case 'Attestation':
      return encodeCbor({ Attestation: { document: response.document } });
    case 'GetRandom':
      return encodeCbor({ GetRandom: { random: response.random } });
    case 'Error':
      return encodeCbor({ Error: response.error });
  }
}

export function decodeNsmRequest(bytes: Uint8Array): NsmRequest {
  const [variant, body] = readVariant(bytes, NSM_MAX_REQUEST_BYTES, 'request');
  switch (variant) {
    case 'DescribeNSM':
    case 'GetRandom':
      unit(body, variant);
      return { type: variant };
    case 'DescribePCR':
    case 'LockPCR': {
      const f = fields(body, variant, ['index']);
      return { type: variant, index: u16(f.get('index'), `${variant}.index`) };
    }
    case 'ExtendPCR': {
      const f = fields(body, variant, ['index', 'data']);
      return { type: variant, index: u16(f.get('index'), 'ExtendPCR.index'), data: bstr(f.get('data'), 'ExtendPCR.data') };
    }
    case 'LockPCRs': {
      const f = fields(body, variant, ['range']);
      return { type: variant, range: u16(f.get('range'), 'LockPCRs.range') };
    }
    case 'Attestation': {
      const f = fields(body, variant, ['user_data', 'nonce', 'public_key']);
      return {
        type: variant,
        userData: optionalBstr(f.get('user_data'), 'Attestation.user_data'),
        nonce: optionalBstr(f.get('nonce'), 'Attestation.nonce'),
        publicKey: optionalBstr(f.get('public_key'), 'Attestation.public_key'),
      };
    }
    default:
      throw protocol(`unknown request ${JSON.stringify(variant)}`);
  }
}

export function decodeNsmResponse(bytes: Uint8Array): NsmResponse {
  const [variant, body] = readVariant(bytes, NSM_MAX_RESPONSE_BYTES, 'response');
  switch (variant) {
    case 'LockPCR':
    case 'LockPCRs':
      unit(body, variant);
      return { type: variant };
    case 'DescribePCR': {
      const f = fields(body, variant, ['lock', 'data']);
      const lock = f.get('lock');
      if (typeof lock !== 'boolean') throw protocol('DescribePCR.lock must be a boolean');
      return { type: variant, lock, data: bstr(f.get('data'), 'DescribePCR.data') };
    }
    case 'ExtendPCR':
      return { type: variant, data: bstr(fields(body, variant, ['data']).get('data'), 'ExtendPCR.data') };
    case 'DescribeNSM': {
      const f = fields(body, variant, ['version_major', 'version_minor', 'version_patch', 'module_id', 'max_pcrs', 'locked_pcrs', 'digest']);
      const moduleId = f.get('module_id');
      if (typeof moduleId !== 'string') throw protocol('DescribeNSM.module_id must be text');
      const locked = f.get('locked_pcrs');
      if (!Array.isArray(locked)) throw protocol('DescribeNSM.locked_pcrs must be an array');
      const digest = f.get('digest');
      if (digest !== 'SHA256' && digest !== 'SHA384' && digest !== 'SHA512') throw protocol('DescribeNSM.digest must be SHA256, SHA384 or SHA512');
      return {
        type: variant,
        versionMajor: u16(f.get('version_major'), 'version_major'),
        versionMinor: u16(f.get('version_minor'), 'version_minor'),
        versionPatch: u16(f.get('version_patch'), 'version_patch'),
        moduleId,
        maxPcrs: u16(f.get('max_pcrs'), 'max_pcrs'),
        lockedPcrs: locked.map((i: unknown) => u16(i, 'locked_pcrs[]')),
        digest,
      };
    }
    case 'Attestation':
      return { type: variant, document: bstr(fields(body, variant, ['document']).get('document'), 'Attestation.document') };
    case 'GetRandom':
      return { type: variant, random: bstr(fields(body, variant, ['random']).get('random'), 'GetRandom.random') };
    case 'Error': {
      if (typeof body !== 'string' || !(NSM_DEVICE_ERRORS as readonly string[]).includes(body)) {
        throw protocol(`unknown NSM error ${JSON.stringify(body)}`);
      }
      return { type: variant, error: body as NsmDeviceError };
    }
    default:
      throw protocol(`unknown response ${JSON.stringify(variant)}`);
  }
}

const NO_BODY = Symbol('unit variant');

/** A bare text string (unit variant) or a one-entry map from variant name to its body. */
function readVariant(bytes: Uint8Array, maxBytes: number, what: string): [string, unknown] {
  let value: unknown;
  try {
    value = decodeCbor(bytes, { maxBytes, maxDepth: 6 });
  } catch (cause) {
    throw protocol(`undecodable ${what}: ${cause instanceof Error ? cause.message : String(cause)}`, cause);
  }
  if (typeof value === 'string') return [value, NO_BODY];
  if (value instanceof Map && value.size === 1) {
    const [[variant, body]] = [...value.entries()] as [[unknown, unknown]];
    if (typeof variant === 'string') return [variant, body];
  }
  throw protocol(`a ${what} must be a variant name or a one-entry map`);
}

function unit(body: unknown, variant: string): void {
  if (body !== NO_BODY) throw protocol(`${variant} carries no fields`);
}

function fields(body: unknown, variant: string, names: readonly string[]): Map<string, unknown> {
  if (!(body instanceof Map)) throw protocol(`${variant} must carry a map of fields`);
  for (const key of body.keys()) {
    if (typeof key !== 'string' || !names.includes(key)) throw protocol(`${variant} has an unknown field ${JSON.stringify(key)}`);
  }
  for (const name of names) if (!body.has(name)) throw protocol(`${variant} is missing the field ${name}`);
  return body as Map<string, unknown>;
}

function u16(value: unknown, label: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0xffff) throw protocol(`${label} must be an integer from 0 to 65535`);
  return value;
}

function bstr(value: unknown, label: string): Uint8Array {
  if (!(value instanceof Uint8Array)) throw protocol(`${label} must be a byte string`);
  return value;
}

function optionalBstr(value: unknown, label: string): Uint8Array | null {
  return value === null ? null : bstr(value, label);
}

function protocol(message: string, cause?: unknown): NsmError {
  return new NsmError('ERR_NSM_PROTOCOL', `NSM protocol error: ${message}`, cause === undefined ? undefined : { cause });
}
