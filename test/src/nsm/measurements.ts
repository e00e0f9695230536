import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';

/** PCR index -> value (48 bytes for SHA-384). */
export type PcrValues = ReadonlyMap<number, Uint8Array>;

/**
 * Reads enclave measurements: the JSON `nitro-cli build-enclave` prints
 * (`{"Measurements": {"HashAlgorithm": "...", "PCR0": "hex", ...}}`) or a flat `{"PCR0": "hex", ...}`.
 * Only PCR0-15 may be given: they are the ones the NSM sets at boot and locks.
 */
export function parseMeasurements(json: unknown, source = 'measurements'): PcrValues {
  const root = json !== null && typeof json === 'object' && 'Measurements' in json ? (json as { Measurements: unknown }).Measurements : json;
  if (root === null || typeof root !== 'object' || Array.isArray(root)) throw new Error(`${source}: expected an object of PCRn values`);
  const pcrs = new Map<number, Uint8Array>();
  for (const [key, value] of Object.entries(root)) {
    if (key === 'HashAlgorithm') continue;
    const m = /^PCR(\d{1,2})$/.exec(key);
    if (!m || Number(m[1]) > 15) throw new Error(`${source}: unexpected key ${JSON.stringify(key)} (expected PCR0 to PCR15)`);
    if (typeof value !== 'string' || !/^[0-9a-fA-F]{96}$/.test(value)) throw new Error(`${source}: ${key} must be 96 hex digits (SHA-384)`);
    pcrs.set(Number(m[1]), new Uint8Array(Buffer.from(value, 'hex')));
  }
  return pcrs;
}

export async function readMeasurements(path: string): Promise<PcrValues> {
  return parseMeasurements(JSON.parse(await readFile(path, 'utf8')), path);
}

/** PCR = SHA384(PCR || data): how the NSM extends a register. */
export function extendPcr(current: Uint8Array, data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha384').update(current).update(data).digest());
}

/** Measurements of a made-up enclave image, stable for a given label: what the simulator boots without any. */
export function syntheticMeasurements(label = 'nitro-datakey simulated enclave'): PcrValues {
  const pcr = (i: number) => extendPcr(new Uint8Array(48), new TextEncoder().encode(`${label}/PCR${i}`));
  return new Map([[0, pcr(0)], [1, pcr(1)], [2, pcr(2)]]);
}
