import { createHmac, randomBytes } from 'node:crypto';
import { decodeNsmRequest, encodeAttestationPayload, encodeNsmResponse, signCoseSign1Es384 } from '@nitro-datakey/shared/testing';
import {
  NSM_LIMITS,
  NSM_MAX_REQUEST_BYTES,
  NsmClient,
  NsmError,
  type Nsm,
  type NsmDeviceError,
  type NsmRequest,
  type NsmResponse,
  type NsmTransport,
} from '@nitro-datakey/shared';
import { extendPcr, syntheticMeasurements, type PcrValues } from './measurements.js';
import type { NitroChain, NitroPki } from './pki.js';

const PCR_COUNT = 32;
const PCR_BYTES = 48;
/** PCR0-15 are set at boot and locked; 16-31 are free for the application. */
const BOOT_LOCKED = 16;
/** Bytes per GetRandom answer. (unverified: the real device's count is not documented; 256 is what its C library asks for.) */
const RANDOM_BYTES = 256;
/** Renew the leaf a little before it expires so no document carries a leaf about to lapse. */
const LEAF_RENEW_MARGIN_MS = 5 * 60_000;

export interface SimulatedNsmOptions {
  /** The PKI whose root the documents chain to. */
  readonly pki: NitroPki;
  /** PCR0-15 at boot (e.g. `readMeasurements('measurements.json')`); missing ones are derived or zero. */
  readonly measurements?: PcrValues;
  /** Debug mode: PCR0, PCR1 and PCR2 read as zeros, as on a real enclave started with --debug-mode. */
  readonly debug?: boolean;
  /** Time source for document timestamps and certificate validity. Default: the system clock. */
  readonly clock?: () => Date;
  /** Deterministic mode: keys, module id, instance id and random bytes derive from this seed. */
  readonly seed?: Uint8Array;
  readonly region?: string;
  /** The parent instance's id: PCR4 measures it, as on real hardware. */
  readonly instanceId?: string;
  /** PCR3, the parent's IAM role measurement (zero when absent, as for an instance without a role). */
  readonly pcr3?: Uint8Array;
}

/**
 * A Nitro Secure Module in software. It speaks the device's request and response bytes
 * (`request(bytes)`), so `NsmClient` cannot tell it from `/dev/nsm`, and it signs documents in the
 * real layout with a chain shaped like AWS's. Only the root differs: trust it by fingerprint.
 */
export class SimulatedNsm implements NsmTransport {
  readonly #pki: NitroPki;
  readonly #clock: () => Date;
  readonly #seed: Uint8Array | undefined;
  readonly #region: string;
  readonly instanceId: string;
  readonly moduleId: string;
  readonly #pcrs: Uint8Array[];
  readonly #locked = new Set<number>();
  #chain: NitroChain | undefined;
  #randomCounter = 0;
  #closed = false;

  private constructor(options: SimulatedNsmOptions) {
    this.#pki = options.pki;
    this.#clock = options.clock ?? (() => new Date());
    this.#seed = options.seed;
    this.#region = options.region ?? 'us-east-1';
    const tag = (label: string, length: number) => this.#derive(label, length).toString('hex');
    this.instanceId = options.instanceId ?? `i-0${tag('instance-id', 8)}`;
    this.moduleId = `${this.instanceId}-enc${tag('module-id', 8)}`;

    const measured = options.measurements ?? syntheticMeasurements();
    this.#pcrs = Array.from({ length: PCR_COUNT }, (_, i) => new Uint8Array(measured.get(i) ?? new Uint8Array(PCR_BYTES)));
    if (options.pcr3) this.#pcrs[3] = new Uint8Array(options.pcr3);
    if (!measured.has(4)) this.#pcrs[4] = extendPcr(new Uint8Array(PCR_BYTES), new TextEncoder().encode(this.instanceId));
    if (options.debug) for (const i of [0, 1, 2]) this.#pcrs[i] = new Uint8Array(PCR_BYTES);
    for (let i = 0; i < BOOT_LOCKED; i++) this.#locked.add(i);
  }

  /** Boots a simulated NSM: PCRs set and locked, a chain issued for this boot. */
  static async boot(options: SimulatedNsmOptions): Promise<SimulatedNsm> {
    const nsm = new SimulatedNsm(options);
    await nsm.#currentChain();
    return nsm;
  }

  /** An `Nsm` client over a freshly booted simulator. */
  static async client(options: SimulatedNsmOptions): Promise<Nsm & { simulator: SimulatedNsm }> {
    const simulator = await SimulatedNsm.boot(options);
    return Object.assign(new NsmClient(simulator), { simulator });
  }

  get rootFingerprint(): string {
    return this.#pki.rootFingerprint;
  }

  /** The current PCR values (copies), for tests and for writing measurements out. */
  pcrs(): Map<number, Uint8Array> {
    return new Map(this.#pcrs.map((v, i) => [i, v.slice()]));
  }

  async request(bytes: Uint8Array): Promise<Uint8Array> {
    if (this.#closed) throw new NsmError('ERR_NSM_DEVICE_UNAVAILABLE', 'the simulated NSM is closed');
    return encodeNsmResponse(await this.#handle(bytes));
  }

  close(): void {
    this.#closed = true;
  }

  async #handle(bytes: Uint8Array): Promise<NsmResponse> {
    if (bytes.byteLength > NSM_MAX_REQUEST_BYTES) return error('InputTooLarge');
    let request: NsmRequest;
    try {
      request = decodeNsmRequest(bytes);
    } catch {
      return error('InvalidArgument');
    }
    switch (request.type) {
      case 'DescribeNSM':
        return {
          type: 'DescribeNSM',
          versionMajor: 1,
          versionMinor: 0,
          versionPatch: 0,
          moduleId: this.moduleId,
          maxPcrs: PCR_COUNT,
          lockedPcrs: [...this.#locked].sort((a, b) => a - b),
          digest: 'SHA384',
        };
      case 'GetRandom':
        return { type: 'GetRandom', random: new Uint8Array(this.#derive(`random/${this.#randomCounter++}`, RANDOM_BYTES)) };
      case 'DescribePCR':
        if (request.index >= PCR_COUNT) return error('InvalidIndex');
        return { type: 'DescribePCR', lock: this.#locked.has(request.index), data: (this.#pcrs[request.index] as Uint8Array).slice() };
      case 'ExtendPCR': {
        if (request.index >= PCR_COUNT) return error('InvalidIndex');
        if (this.#locked.has(request.index)) return error('ReadOnlyIndex');
        const value = extendPcr(this.#pcrs[request.index] as Uint8Array, request.data);
        this.#pcrs[request.index] = value;
        return { type: 'ExtendPCR', data: value.slice() };
      }
      case 'LockPCR':
        if (request.index >= PCR_COUNT) return error('InvalidIndex');
        // PCR0-15 are locked at boot and cannot be locked again: the device answers with an error
        // (AWS's nsm-test expects one; which error is unverified: ReadOnlyIndex, as for ExtendPCR).
        if (request.index < BOOT_LOCKED) return error('ReadOnlyIndex');
        this.#locked.add(request.index);
        return { type: 'LockPCR' };
      case 'LockPCRs':
        if (request.range > PCR_COUNT) return error('InvalidIndex');
        for (let i = 0; i < request.range; i++) this.#locked.add(i);
        return { type: 'LockPCRs' };
      case 'Attestation':
        if (
          (request.userData?.byteLength ?? 0) > NSM_LIMITS.userData ||
          (request.nonce?.byteLength ?? 0) > NSM_LIMITS.nonce ||
          (request.publicKey?.byteLength ?? 0) > NSM_LIMITS.publicKey
        ) {
          return error('InputTooLarge');
        }
        return { type: 'Attestation', document: await this.#attest(request) };
    }
  }

  async #attest(request: Extract<NsmRequest, { type: 'Attestation' }>): Promise<Uint8Array> {
    const chain = await this.#currentChain();
    // Documents carry every locked PCR, in index order: PCR0-15 always, more once the app locks them.
    const pcrs = new Map([...this.#locked].sort((a, b) => a - b).map((i) => [i, (this.#pcrs[i] as Uint8Array).slice()]));
    const payload = encodeAttestationPayload({
      moduleId: this.moduleId,
      digest: 'SHA384',
      timestamp: this.#clock().getTime(),
      pcrs,
      certificate: chain.leaf.der,
      cabundle: chain.cabundle,
      publicKey: request.publicKey,
      userData: request.userData,
      nonce: request.nonce,
    });
    return signCoseSign1Es384(payload, chain.leaf.keyPair.privateKey);
  }

  /** The chain for now: a new boot's chain when the leaf is about to lapse (real leaves live 3 hours). */
  async #currentChain(): Promise<NitroChain> {
    const now = this.#clock();
    const leafNotAfter = this.#chain ? this.#chain.leaf.notAfter.getTime() : 0;
    if (!this.#chain || now.getTime() + LEAF_RENEW_MARGIN_MS >= leafNotAfter) {
      this.#chain = await this.#pki.issueChain({ bootTime: now, region: this.#region, instanceId: this.instanceId, moduleId: this.moduleId });
    }
    return this.#chain;
  }

  #derive(label: string, length: number): Buffer {
    if (!this.#seed) return randomBytes(length);
    const out: Buffer[] = [];
    for (let i = 0; out.length * 48 < length; i++) out.push(createHmac('sha384', this.#seed).update(`${label}/${i}`).digest());
    return Buffer.concat(out).subarray(0, length);
  }
}

function error(name: NsmDeviceError): NsmResponse {
  return { type: 'Error', error: name };
}
