import { builtScript, spawnReady, type ReadyProcess } from '@nitro-datakey/devkit';

export type KmsProcess = ReadyProcess<{ endpoint: string; region: string; account: string; caCertPath?: string }>;

/** The built `nitro-kms-local` entry point. */
export function kmsBinPath(): string {
  return builtScript('@nitro-datakey/devkit', 'cli/nitro-kms-local-main.js');
}

/** Starts `nitro-kms-local` as a separate process and waits for its ready line. */
export function spawnLocalKms(args: readonly string[], timeoutMs = 20_000): Promise<KmsProcess> {
  return spawnReady(kmsBinPath(), args, timeoutMs);
}
