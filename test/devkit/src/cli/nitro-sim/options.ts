import { readKeyFile, UsageError } from '@nitro-datakey/shared/cli';
import { readMeasurements } from '../../nsm/measurements.js';

/** `--pcrs FILE`: the measurements JSON, or a usage error that names the option. */
export async function measurementsOption(path: string | undefined): Promise<Awaited<ReturnType<typeof readMeasurements>> | undefined> {
  try {
    return path === undefined ? undefined : await readMeasurements(path);
  } catch (e) {
    throw new UsageError(`--pcrs: ${(e as Error).message}`);
  }
}

/** `--public-key FILE`: PEM or DER SubjectPublicKeyInfo (or a certificate), as DER. */
export async function readPublicKey(path: string): Promise<Uint8Array> {
  return new Uint8Array((await readKeyFile(path, 'public')).export({ format: 'der', type: 'spki' }));
}
