import { type CliOptions, commandList, packageVersion, runCli } from '@nitro-datakey/shared/cli';
import { attestCommand } from './nitro-sim/attest.js';
import { enclaveCommand } from './nitro-sim/enclave.js';
import { nsmDeviceCommand } from './nitro-sim/nsm-device.js';
import { pkiProgram } from './nitro-sim/pki.js';

const COMMANDS = { pki: pkiProgram, attest: attestCommand, enclave: enclaveCommand, 'nsm-device': nsmDeviceCommand };

const USAGE = `Usage: nitro-sim COMMAND [options]

A simulated Nitro Secure Module for machines without Nitro hardware. Its documents are laid out and
signed like real ones, under a root of your own: trust that root by fingerprint.

Commands:
${commandList(COMMANDS)}

Run "nitro-sim COMMAND --help" for a command's options.
Exit status: 0 ok, 1 failed, 2 usage error.
`;

/** The `nitro-sim` command; returns its exit status and never throws. */
export function nitroSim(argv: readonly string[], options: CliOptions = {}): Promise<number> {
  return runCli({ name: 'nitro-sim', help: USAGE, version: () => packageVersion(import.meta.url), commands: COMMANDS }, argv, options);
}
