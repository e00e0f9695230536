import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { InvalidArgumentError, measurementsFromJson } from '@nitro-datakey/shared';
import { parseJsonText } from '@nitro-datakey/shared/cli';

/** PCR index -> value (48 bytes for SHA-384). */
export type PcrValues = ReadonlyMap<number, Uint8Array>;

/**
 * Reads enclave measurements: the JSON `nitro-cli build-enclave` prints
 * (`{"Measurements": {"HashAlgorithm": "...", "PCR0": "hex", ...}}`) or a flat `{"PCR0": "hex", ...}`.
 * Only PCR0-15 may be given: they are the ones the NSM sets at boot and locks.
 */
export function parseMeasurements(json: unknown, source = 'measurements'): PcrValues {
  let hex: Map<number, string>;
  try {
    hex = measurementsFromJson(json);
  } catch (e) {
    throw new InvalidArgumentError(`${source}: ${(e as Error).message}`);
  }
  const pcrs = new Map<number, Uint8Array>();
  for (const [index, value] of hex) {
    if (index > 15) throw new InvalidArgumentError(`${source}: unexpected key "PCR${index}" (expected PCR0 to PCR15)`);
    if (!/^[0-9a-f]{96}$/.test(value)) throw new InvalidArgumentError(`${source}: PCR${index} must be 96 hex digits (SHA-384)`);
    pcrs.set(index, new Uint8Array(Buffer.from(value, 'hex')));
  }
  return pcrs;
}

export async function readMeasurements(path: string): Promise<PcrValues> {
  return parseMeasurements(parseJsonText(await readFile(path, 'utf8'), path), path);
}

/** PCR = SHA384(PCR || data): how the NSM extends a register. */
export function extendPcr(current: Uint8Array, data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha384').update(current).update(data).digest());
}

/** Measurements of a made-up enclave image, stable for a given label: what the simulator boots without any. */
export function syntheticMeasurements(label = 'nitro-datakey simulated enclave'): PcrValues {
  const pcr = (i: number) => extendPcr(new Uint8Array(48), new TextEncoder().encode(`${label}/PCR${i}`));
  return new Map([
    [0, pcr(0)],
    [1, pcr(1)],
    [2, pcr(2)],
  ]);
}
