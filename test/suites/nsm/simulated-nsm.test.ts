import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { AttestationVerifier, decodeAttestation, decodeCbor, decodeCoseSign1, NsmClient, NsmError, toHex, type NsmTransport } from '@nitro-datakey/shared';
import { NitroPki, parseMeasurements, SimulatedNsm } from '@nitro-datakey/devkit';
import { readVector, vectorsAvailable } from '../../support/index.js';
import { scratchDir } from '../../support/scratch.js';

const BOOT = new Date('2026-05-01T08:00:00Z');
let pki: NitroPki;

beforeAll(async () => {
  pki = await NitroPki.create();
});

async function client(options: Partial<Parameters<typeof SimulatedNsm.boot>[0]> = {}) {
  let now = BOOT.getTime();
  const nsm = await SimulatedNsm.client({ pki, clock: () => new Date(now), ...options });
  return {
    nsm,
    advance: (ms: number) => {
      now += ms;
    },
    now: () => new Date(now),
  };
}

async function nsmCode(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (!(e instanceof NsmError)) throw e;
    return e.code;
  }
  return 'OK';
}

describe('simulated documents and the production verifier', () => {
  it('verify when the simulated root is trusted, carrying what was asked', async () => {
    const { nsm, now } = await client();
    const publicKey = new Uint8Array(294).fill(3);
    const nonce = new Uint8Array(32).fill(4);
    const doc = await nsm.attest({ publicKey, nonce, userData: new Uint8Array([5]) });
    const verified = new AttestationVerifier({ trustedRootFingerprints: [pki.rootFingerprint], clock: now }).verify(doc, {
      nonce,
      publicKey,
      userData: new Uint8Array([5]),
      maxAgeMs: 0,
    });
    expect(verified.moduleId).toBe(nsm.simulator.moduleId);
    expect(verified.timestamp).toBe(BOOT.getTime());
    expect(verified.pcrs.size).toBe(16);
    expect(verified.debug).toBe(false);
  });

  it('are rejected under the default AWS root with the chain code', async () => {
    const { nsm, now } = await client();
    const doc = await nsm.attest();
    expect(() => new AttestationVerifier({ clock: now }).verify(doc)).toThrow(expect.objectContaining({ code: 'ERR_ATTESTATION_CHAIN' }));
  });

  it('debug mode zeroes PCR0-2 and the verifier reports it', async () => {
    const { nsm, now } = await client({ debug: true });
    const verified = new AttestationVerifier({ trustedRootFingerprints: [pki.rootFingerprint], clock: now }).verify(await nsm.attest());
    expect(verified.debug).toBe(true);
    expect(toHex(verified.pcrs.get(0) as Uint8Array)).toBe('00'.repeat(48));
  });

  it('takes PCR0-2 from nitro-cli measurements', async () => {
    const measurements = parseMeasurements({
      Measurements: { HashAlgorithm: 'Sha384 { ... }', PCR0: 'aa'.repeat(48), PCR1: 'bb'.repeat(48), PCR2: 'cc'.repeat(48) },
    });
    const { nsm, now } = await client({ measurements });
    const verified = new AttestationVerifier({ trustedRootFingerprints: [pki.rootFingerprint], clock: now }).verify(await nsm.attest(), {
      pcrs: { 0: 'aa'.repeat(48), 1: 'bb'.repeat(48), 2: 'cc'.repeat(48) },
    });
    expect(verified.pcrs.get(4)).toEqual(new Uint8Array(createHash('sha384').update(new Uint8Array(48)).update(nsm.simulator.instanceId).digest()));
  });

  it('renews the 3-hour leaf: documents stay verifiable across hours', async () => {
    const { nsm, advance, now } = await client();
    const first = await nsm.attest();
    advance(3 * 3_600_000 + 60_000);
    const later = await nsm.attest();
    const verifier = new AttestationVerifier({ trustedRootFingerprints: [pki.rootFingerprint], clock: now });
    const firstLeaf = createHash('sha256').update(decodeAttestation(first).document.certificate).digest('hex');
    expect(verifier.verify(later).leaf.fingerprint).not.toBe(firstLeaf);
    expect(() => verifier.verify(first)).toThrow(expect.objectContaining({ code: 'ERR_ATTESTATION_CERT_EXPIRED' }));
  });
});

describe.skipIf(!vectorsAvailable())(`simulated documents have the real layout${vectorsAvailable() ? '' : ' (SKIPPED: ../shared/vectors not found)'}`, () => {
  const majorType = (bytes: Uint8Array, value: unknown): string => {
    void bytes;
    if (value === null) return 'null';
    if (value instanceof Uint8Array) return 'bstr';
    if (typeof value === 'string') return 'text';
    if (typeof value === 'number' || typeof value === 'bigint') return 'uint';
    if (Array.isArray(value)) return 'array';
    if (value instanceof Map) return 'map';
    return typeof value;
  };

  it('same protected header, keys in the same order with the same types, same PCR and cabundle shape', async () => {
    const real = decodeCoseSign1(readVector('attestation/base_nitro_validator_2024.cbor'));
    const { nsm } = await client();
    const ours = decodeCoseSign1(await nsm.attest({ publicKey: new Uint8Array(65).fill(4) }));
    expect(toHex(ours.protectedBytes)).toBe(toHex(real.protectedBytes));
    expect(ours.unprotectedHeader.size).toBe(0);
    expect(ours.signature.byteLength).toBe(real.signature.byteLength);
    expect(ours.payload[0]).toBe(real.payload[0]); // 0xa9: a definite map of 9 entries
    const realMap = decodeCbor(real.payload) as Map<string, unknown>;
    const ourMap = decodeCbor(ours.payload) as Map<string, unknown>;
    expect([...ourMap.keys()]).toEqual([...realMap.keys()]);
    for (const [key, value] of realMap) expect(`${key}:${majorType(ours.payload, ourMap.get(key))}`).toBe(`${key}:${majorType(real.payload, value)}`);
    const realPcrs = realMap.get('pcrs') as Map<number, Uint8Array>;
    const ourPcrs = ourMap.get('pcrs') as Map<number, Uint8Array>;
    expect([...ourPcrs.keys()]).toEqual([...realPcrs.keys()]);
    expect([...ourPcrs.values()].map((v) => v.byteLength)).toEqual([...realPcrs.values()].map((v) => v.byteLength));
    expect((ourMap.get('cabundle') as unknown[]).length).toBe((realMap.get('cabundle') as unknown[]).length);
    // Absent optional fields are CBOR null, as in the real documents.
    expect(ourMap.get('user_data')).toBeNull();
    expect(ourMap.get('nonce')).toBeNull();
    // The timestamp is a uint, never a float.
    expect(typeof ourMap.get('timestamp')).toBe('bigint');
  });
});

describe('PCR semantics', () => {
  it('extend is SHA384(old || data), visible to DescribePCR and in later documents once locked', async () => {
    const { nsm, now } = await client();
    const before = await nsm.describePcr(16);
    expect(before).toEqual({ locked: false, value: new Uint8Array(48) });
    const data = new TextEncoder().encode('app config v1');
    const after = await nsm.extendPcr(16, data);
    expect(after).toEqual(new Uint8Array(createHash('sha384').update(new Uint8Array(48)).update(data).digest()));
    const twice = await nsm.extendPcr(16, data);
    expect(twice).toEqual(new Uint8Array(createHash('sha384').update(after).update(data).digest()));
    await nsm.lockPcr(16);
    expect(await nsm.describePcr(16)).toEqual({ locked: true, value: twice });
    const doc = new AttestationVerifier({ trustedRootFingerprints: [pki.rootFingerprint], clock: now }).verify(await nsm.attest());
    expect(doc.pcrs.get(16)).toEqual(twice);
  });

  it('PCR0-15 are locked at boot; a locked PCR refuses extend with ReadOnlyIndex', async () => {
    const { nsm } = await client();
    expect((await nsm.describe()).lockedPcrs).toEqual(Array.from({ length: 16 }, (_, i) => i));
    expect(await nsmCode(nsm.extendPcr(0, new Uint8Array(1)))).toBe('ERR_NSM_READ_ONLY_INDEX');
    await nsm.lockPcrs(20);
    expect(await nsmCode(nsm.extendPcr(19, new Uint8Array(1)))).toBe('ERR_NSM_READ_ONLY_INDEX');
    expect(await nsmCode(nsm.extendPcr(20, new Uint8Array(1)))).toBe('OK');
  });

  it('an out-of-range index is InvalidIndex, from the client and from the device alike', async () => {
    const { nsm } = await client();
    expect(await nsmCode(nsm.describePcr(32))).toBe('ERR_NSM_INVALID_INDEX');
    expect(await nsmCode(nsm.lockPcrs(33))).toBe('ERR_NSM_INVALID_INDEX');
    // Past the client's checks, straight to the simulator's bytes:
    const { simulator } = nsm;
    const raw = new NsmClient({ request: (b) => simulator.request(b) });
    expect(await nsmCode(raw.describePcr(31))).toBe('OK');
    const { encodeNsmRequest, decodeNsmResponse } = await import('@nitro-datakey/shared');
    expect(decodeNsmResponse(await simulator.request(encodeNsmRequest({ type: 'DescribePCR', index: 40 })))).toEqual({ type: 'Error', error: 'InvalidIndex' });
    expect(decodeNsmResponse(await simulator.request(encodeNsmRequest({ type: 'ExtendPCR', index: 99, data: new Uint8Array(1) })))).toEqual({
      type: 'Error',
      error: 'InvalidIndex',
    });
  });

  it('oversize user data, nonce and public key are InputTooLarge, and never leave the client', async () => {
    const { nsm } = await client();
    let sent = 0;
    const counting: NsmTransport = {
      request: (b) => {
        sent++;
        return nsm.simulator.request(b);
      },
    };
    const guarded = new NsmClient(counting);
    for (const options of [{ userData: new Uint8Array(1025) }, { nonce: new Uint8Array(1025) }, { publicKey: new Uint8Array(1025) }]) {
      const e = await guarded.attest(options).catch((err: NsmError) => err);
      expect(e).toBeInstanceOf(NsmError);
      expect((e as NsmError).code).toBe('ERR_NSM_INPUT_TOO_LARGE');
      expect((e as NsmError).deviceError).toBe('InputTooLarge');
    }
    expect(await nsmCode(guarded.extendPcr(16, new Uint8Array(5000)))).toBe('ERR_NSM_INPUT_TOO_LARGE');
    expect(sent).toBe(0);
    // The simulator itself also refuses, for clients that do not check.
    const { encodeNsmRequest, decodeNsmResponse } = await import('@nitro-datakey/shared');
    const request = encodeNsmRequest({ type: 'Attestation', userData: new Uint8Array(1025), nonce: null, publicKey: null });
    expect(decodeNsmResponse(await nsm.simulator.request(request))).toEqual({ type: 'Error', error: 'InputTooLarge' });
    // 1024 bytes each, as AWS's own on-hardware check sends: accepted by the client, the simulator and the verifier.
    const full = await guarded.attest({ userData: new Uint8Array(1024), nonce: new Uint8Array(1024), publicKey: new Uint8Array(1024) });
    const { AttestationVerifier } = await import('@nitro-datakey/shared');
    const verified = new AttestationVerifier({ trustedRootFingerprints: [pki.rootFingerprint], clock: () => BOOT }).verify(full);
    expect(verified.userData).toHaveLength(1024);
    expect(verified.nonce).toHaveLength(1024);
  });

  it('refuses LockPCR on PCR0-15 (locked at boot, as the device does), and locks 16-31', async () => {
    const { nsm } = await client();
    for (const index of [0, 4, 8, 15]) expect(await nsmCode(nsm.lockPcr(index)), `PCR${index}`).toBe('ERR_NSM_READ_ONLY_INDEX');
    await nsm.lockPcr(16);
    expect((await nsm.describePcr(16)).locked).toBe(true);
  });

  it('answers garbage with InvalidArgument rather than failing', async () => {
    const { nsm } = await client();
    const { decodeNsmResponse } = await import('@nitro-datakey/shared');
    expect(decodeNsmResponse(await nsm.simulator.request(new Uint8Array([0xff, 0x00])))).toEqual({ type: 'Error', error: 'InvalidArgument' });
  });

  it('GetRandom and DescribeNSM', async () => {
    const { nsm } = await client();
    const a = await nsm.getRandom();
    expect(a.byteLength).toBe(256);
    expect(toHex(await nsm.getRandom())).not.toBe(toHex(a));
    expect(await nsm.describe()).toMatchObject({ version: '1.0.0', maxPcrs: 32, digest: 'SHA384', moduleId: nsm.simulator.moduleId });
  });
});

describe('PKI persistence and deterministic mode', () => {
  it('a saved root loads again, keeps its fingerprint, and signs chains the verifier accepts', async () => {
    const dir = join(scratchDir('ndk-pki-'), 'pki');
    await pki.save(dir);
    expect(statSync(join(dir, 'root-key.pem')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(dir, 'root.sha256'), 'utf8').trim()).toBe(pki.rootFingerprint);
    const loaded = await NitroPki.load(dir);
    expect(loaded.rootFingerprint).toBe(pki.rootFingerprint);
    const nsm = await SimulatedNsm.client({ pki: loaded, clock: () => BOOT });
    expect(new AttestationVerifier({ trustedRootFingerprints: [pki.rootFingerprint], clock: () => BOOT }).verify(await nsm.attest()).moduleId).toBe(
      nsm.simulator.moduleId,
    );
  });

  it('a seed fixes keys, ids, PCRs and random bytes (ECDSA signatures stay randomized)', async () => {
    const seed = new TextEncoder().encode('test seed');
    const one = await SimulatedNsm.client({ pki: await NitroPki.create({ seed }), seed, clock: () => BOOT });
    const two = await SimulatedNsm.client({ pki: await NitroPki.create({ seed }), seed, clock: () => BOOT });
    expect(one.simulator.moduleId).toBe(two.simulator.moduleId);
    expect(await one.getRandom()).toEqual(await two.getRandom());
    expect(one.simulator.pcrs()).toEqual(two.simulator.pcrs());
    const rootKey = async (n: typeof one) => {
      const doc = decodeCbor(decodeCoseSign1(await n.attest()).payload) as Map<string, unknown>;
      const { parseCertificate } = await import('@nitro-datakey/shared');
      return toHex(new Uint8Array(parseCertificate((doc.get('cabundle') as Uint8Array[])[0] as Uint8Array).spki));
    };
    expect(await rootKey(one)).toBe(await rootKey(two));
    const other = await SimulatedNsm.client({ pki, seed: new TextEncoder().encode('other'), clock: () => BOOT });
    expect(other.simulator.moduleId).not.toBe(one.simulator.moduleId);
  });
});
