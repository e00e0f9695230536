import { parseArgs } from 'node:util';
import { type CliCommand, type CliContext, UsageError } from '@nitro-datakey/shared/cli';
import { NitroPki } from '../../nsm/pki.js';
import { SimulatedNsm } from '../../nsm/simulated-nsm.js';
import { measurementsOption } from './options.js';

const ENCLAVE_HELP = `Usage: nitro-sim enclave --pki-dir DIR [--pcrs measurements.json] [--debug] -- NITRO_ENCLAVE_ARGS...

Runs the enclave app ("nitro-enclave --config FILE", "nitro-enclave run ...", "nitro-enclave seal ...")
on a simulated NSM under DIR's root instead of /dev/nsm. Everything after "--" goes to nitro-enclave.

Exit status: 0 ok, 1 failed, 2 usage error.
`;

export const enclaveCommand: CliCommand = {
  help: ENCLAVE_HELP,
  run: (argv, context) => enclave(argv, context),
};

/** The enclave app on a simulated NSM: the production command, with the NSM injected. */
async function enclave(argv: readonly string[], context: CliContext): Promise<number> {
  const split = argv.indexOf('--');
  if (split < 0) throw new UsageError('enclave needs "--" before the nitro-enclave arguments, e.g. nitro-sim enclave --pki-dir DIR -- --config enclave.json');
  const { values, positionals } = parseArgs({
    args: argv.slice(0, split),
    allowPositionals: true,
    options: { 'pki-dir': { type: 'string' }, pcrs: { type: 'string' }, debug: { type: 'boolean' } },
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  if (values['pki-dir'] === undefined) throw new UsageError('--pki-dir DIR is required (create one with "nitro-sim pki init DIR")');
  const measurements = await measurementsOption(values.pcrs);
  const pki = await NitroPki.load(values['pki-dir']);
  const openNsm = () => SimulatedNsm.client({ pki, ...(measurements ? { measurements } : {}), ...(values.debug ? { debug: true } : {}) });
  // Loaded here, not at the top: the other commands (pki, attest, nsm-device) need no enclave code or KMS SDK.
  const { nitroEnclave } = await import('@nitro-datakey/enclave');
  return nitroEnclave(argv.slice(split + 1), { ...context, openNsm });
}
