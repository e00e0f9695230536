import type { Nsm } from '@nitro-datakey/shared';
import { type CliOptions, type LazyCliCommand, packageVersion, runCli } from '@nitro-datakey/shared/cli';
import type { Spawn } from './supervisor.js';

/** What a launcher may inject: the dev kit passes a simulated NSM; production uses /dev/nsm. */
export interface NitroEnclaveOptions extends CliOptions {
  readonly openNsm?: () => Promise<Nsm> | Nsm;
  /** How `run` starts the workload (default child_process.spawn, output inherited). */
  readonly spawn?: Spawn;
  /** `run`: how long the workload has after SIGTERM before SIGKILL (default 10 s). */
  readonly stopGraceMs?: number;
}

/** Each command's module loads when it runs: `--version` and `--help` load no KMS client or app code. */
function commands(options: NitroEnclaveOptions, openNsm: () => Promise<Nsm> | Nsm): Record<string, LazyCliCommand> {
  return {
    run: {
      summary: 'supervise your workload: open the secrets, start the gateway, run COMMAND',
      load: async () =>
        (await import('./commands/run.js')).runCommand({
          openNsm,
          ...(options.spawn ? { spawn: options.spawn } : {}),
          ...(options.stopGraceMs !== undefined ? { stopGraceMs: options.stopGraceMs } : {}),
        }),
    },
    seal: { summary: 'seal a secret with an attested GenerateDataKey', load: async () => (await import('./commands/seal.js')).sealCommand(openNsm) },
    attestation: {
      summary: 'write an attestation document over your nonce (for nitro-datakey verify)',
      load: async () => (await import('./commands/attestation.js')).attestationCommand(openNsm),
    },
    kms: {
      summary: 'one attested KMS call from a shell (decrypt, genkey, genrandom, derive)',
      load: async () => (await import('./commands/kms.js')).kmsCommand(openNsm),
    },
  };
}

const USAGE = `Usage: nitro-enclave --config FILE
       nitro-enclave run --config FILE [-- COMMAND [ARG]...]
       nitro-enclave seal --config FILE --key-id KEY --name NAME [--context K=V]... [--out FILE] SECRET_FILE|-
       nitro-enclave kms decrypt|genkey|genrandom|derive --config FILE ...   (one attested call; see "kms --help")
       nitro-enclave attestation --nonce HEX [--out FILE]   (an attestation document for nitro-datakey verify)

Runs inside the Nitro Enclave. At boot it opens the configured sealed secrets into the secrets
directory and serves a KMS-compatible gateway on loopback: workloads point their AWS SDK at it and
receive plaintext, while every call to KMS goes out attested with CiphertextForRecipient.

"seal" makes a sealed-secret envelope with an attested GenerateDataKey under KEY (a full key ARN, or
a name in kms.allowedKeys) for the secret NAME (the item name it will open as; bound into the envelope).
Run it in the enclave, or through the dev kit's simulator: "nitro-sim enclave ...". --context binds an
extra encryption context.

Prints one JSON line on stdout when ready; logs JSON lines on stderr; stops on SIGINT/SIGTERM.
Exit status: 0 ok, 1 failed, 2 usage or configuration error.
`;

/** The `nitro-enclave` command; returns its exit status and never throws. */
export function nitroEnclave(argv: readonly string[], options: NitroEnclaveOptions = {}): Promise<number> {
  // The device module (and its addon) loads when the NSM is first opened.
  const openNsm = options.openNsm ?? (async () => (await import('@nitro-datakey/native')).openNsmDevice());
  return runCli(
    {
      name: 'nitro-enclave',
      help: USAGE,
      version: () => packageVersion(import.meta.url),
      commands: commands(options, openNsm),
      service: async (args, context) => (await import('./commands/serve.js')).serve(args, context, openNsm),
    },
    argv,
    options,
  );
}
