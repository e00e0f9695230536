import { InvalidArgumentError } from '../errors.js';
import { decodeNsmResponse, encodeNsmRequest, NSM_MAX_REQUEST_BYTES, type NsmDigest, type NsmRequest, type NsmResponse } from './codec.js';
import { NsmError } from './errors.js';

/** Moves one encoded request to an NSM and returns its encoded response: the device, a simulator, anything. */
export interface NsmTransport {
  request(bytes: Uint8Array): Promise<Uint8Array>;
  close?(): Promise<void> | void;
}

export interface AttestOptions {
  /** DER SubjectPublicKeyInfo to bind into the document (at most 1024 bytes). */
  readonly publicKey?: Uint8Array;
  /** At most 1024 bytes (NSM_LIMITS). */
  readonly userData?: Uint8Array;
  /** At most 1024 bytes (NSM_LIMITS). */
  readonly nonce?: Uint8Array;
}

export interface PcrState {
  readonly locked: boolean;
  readonly value: Uint8Array;
}

export interface NsmDescription {
  readonly version: string;
  readonly moduleId: string;
  readonly maxPcrs: number;
  readonly lockedPcrs: readonly number[];
  readonly digest: NsmDigest;
}

/** What code above the NSM uses. It never knows whether hardware or a simulator answers. */
export interface Nsm {
  attest(options?: AttestOptions): Promise<Uint8Array>;
  getRandom(): Promise<Uint8Array>;
  describePcr(index: number): Promise<PcrState>;
  extendPcr(index: number, data: Uint8Array): Promise<Uint8Array>;
  lockPcr(index: number): Promise<void>;
  lockPcrs(range: number): Promise<void>;
  describe(): Promise<NsmDescription>;
  close(): Promise<void>;
}

/** The device's documented limits on attestation inputs. */
/**
 * What the device accepts. user_data and nonce: 1024 bytes each. AWS's prose (the attestation
 * document spec) says 512, but its schema and AWS's own on-hardware check (aws-nitro-enclaves-nsm-api,
 * nsm-test: sends 1024 bytes of each and expects success) say 1024: we follow the device (FACTS.md).
 */
export const NSM_LIMITS = { userData: 1024, nonce: 1024, publicKey: 1024, maxPcrIndex: 31 } as const;

/** The one `Nsm` implementation, over any transport. Limits are checked before anything is sent. */
export class NsmClient implements Nsm {
  readonly #transport: NsmTransport;

  constructor(transport: NsmTransport) {
    this.#transport = transport;
  }

  async attest(options: AttestOptions = {}): Promise<Uint8Array> {
    const userData = optionalInput(options.userData, 'userData', NSM_LIMITS.userData);
    const nonce = optionalInput(options.nonce, 'nonce', NSM_LIMITS.nonce);
    const publicKey = optionalInput(options.publicKey, 'publicKey', NSM_LIMITS.publicKey);
    const response = await this.#call({ type: 'Attestation', userData, nonce, publicKey }, 'Attestation');
    return response.document;
  }

  async getRandom(): Promise<Uint8Array> {
    return (await this.#call({ type: 'GetRandom' }, 'GetRandom')).random;
  }

  async describePcr(index: number): Promise<PcrState> {
    const response = await this.#call({ type: 'DescribePCR', index: pcrIndex(index) }, 'DescribePCR');
    return { locked: response.lock, value: response.data };
  }

  async extendPcr(index: number, data: Uint8Array): Promise<Uint8Array> {
    if (!(data instanceof Uint8Array)) throw new InvalidArgumentError('data must be a Uint8Array');
    return (await this.#call({ type: 'ExtendPCR', index: pcrIndex(index), data }, 'ExtendPCR')).data;
  }

  async lockPcr(index: number): Promise<void> {
    await this.#call({ type: 'LockPCR', index: pcrIndex(index) }, 'LockPCR');
  }

  async lockPcrs(range: number): Promise<void> {
    if (!Number.isInteger(range) || range < 0 || range > NSM_LIMITS.maxPcrIndex + 1) {
      throw new NsmError('ERR_NSM_INVALID_INDEX', `PCR range ${range} is outside 0..${NSM_LIMITS.maxPcrIndex + 1}`, { deviceError: 'InvalidIndex' });
    }
    await this.#call({ type: 'LockPCRs', range }, 'LockPCRs');
  }

  async describe(): Promise<NsmDescription> {
    const r = await this.#call({ type: 'DescribeNSM' }, 'DescribeNSM');
    return {
      version: `${r.versionMajor}.${r.versionMinor}.${r.versionPatch}`,
      moduleId: r.moduleId,
      maxPcrs: r.maxPcrs,
      lockedPcrs: r.lockedPcrs,
      digest: r.digest,
    };
  }

  async close(): Promise<void> {
    await this.#transport.close?.();
  }

  /** Sends `request` and returns the response of the expected variant; an Error response becomes an NsmError. */
  async #call<T extends NsmResponse['type']>(request: NsmRequest, expected: T): Promise<Extract<NsmResponse, { type: T }>> {
    const bytes = encodeNsmRequest(request);
    if (bytes.byteLength > NSM_MAX_REQUEST_BYTES) {
      throw new NsmError('ERR_NSM_INPUT_TOO_LARGE', `${request.type} request is ${bytes.byteLength} bytes, over the device's ${NSM_MAX_REQUEST_BYTES}`, {
        deviceError: 'InputTooLarge',
      });
    }
    const response = decodeNsmResponse(await this.#transport.request(bytes));
    if (response.type === 'Error') throw NsmError.fromDevice(response.error, request.type);
    if (response.type !== expected) throw new NsmError('ERR_NSM_PROTOCOL', `NSM protocol error: answered ${request.type} with ${response.type}`);
    return response as Extract<NsmResponse, { type: T }>;
  }
}

function optionalInput(value: Uint8Array | undefined, label: string, max: number): Uint8Array | null {
  if (value === undefined) return null;
  if (!(value instanceof Uint8Array)) throw new InvalidArgumentError(`${label} must be a Uint8Array`);
  if (value.byteLength > max) {
    throw new NsmError('ERR_NSM_INPUT_TOO_LARGE', `${label} is ${value.byteLength} bytes; the NSM accepts at most ${max}`, { deviceError: 'InputTooLarge' });
  }
  return value;
}

function pcrIndex(index: number): number {
  if (!Number.isInteger(index) || index < 0 || index > NSM_LIMITS.maxPcrIndex) {
    throw new NsmError('ERR_NSM_INVALID_INDEX', `PCR index ${index} is outside 0..${NSM_LIMITS.maxPcrIndex}`, { deviceError: 'InvalidIndex' });
  }
  return index;
}
