import { type CliOptions, type CliProgram, commandList, type LazyCliCommand, packageVersion, runCli } from '@nitro-datakey/shared/cli';

/** Each command's module loads when it runs: `--version` and `--help` load no PKI, NSM or enclave code. */
const PKI: CliProgram = {
  name: 'nitro-sim pki',
  summary: 'create (init DIR) or show (show DIR) a simulated Nitro PKI root',
  help: `Usage: nitro-sim pki init DIR [--seed HEX] [--json]
       nitro-sim pki show DIR [--json]

Exit status: 0 ok, 1 failed, 2 usage error.
`,
  commands: {
    init: { summary: 'create a root in DIR', load: async () => (await import('./nitro-sim/pki.js')).pkiInitCommand },
    show: { summary: "print DIR's root fingerprint", load: async () => (await import('./nitro-sim/pki.js')).pkiShowCommand },
  },
};

const COMMANDS: Record<string, LazyCliCommand | CliProgram> = {
  pki: PKI,
  attest: { summary: 'write one attestation document signed under a simulated root', load: async () => (await import('./nitro-sim/attest.js')).attestCommand },
  enclave: {
    summary: 'run nitro-enclave on a simulated NSM (arguments after "--")',
    load: async () => (await import('./nitro-sim/enclave.js')).enclaveCommand,
  },
  'nsm-device': {
    summary: "serve the NSM device's bytes on a Unix socket for the LD_PRELOAD shim",
    load: async () => (await import('./nitro-sim/nsm-device.js')).nsmDeviceCommand,
  },
};

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
