import { parseArgs } from 'node:util';
import { type CliCommand, type CliIo, EXIT, parseHexArg, parseTimeArg, UsageError, refuseBinaryToTerminal } from '@nitro-datakey/shared/cli';
import { NitroPki } from '../../nsm/pki.js';
import { SimulatedNsm } from '../../nsm/simulated-nsm.js';
import { measurementsOption, readPublicKey } from './options.js';

const ATTEST_HELP = `Usage: nitro-sim attest --pki-dir DIR [--public-key FILE] [--user-data HEX] [--nonce HEX] [--pcrs measurements.json]
                        [--debug] [--at TIME] [--seed HEX] [--format binary|hex|base64]

Boots a simulated NSM under DIR's root and writes one attestation document to standard output
(binary by default). --public-key takes a DER or PEM SubjectPublicKeyInfo; --pcrs takes the JSON
"nitro-cli build-enclave" prints; --debug zeroes PCR0-2 as a debug-mode enclave does.

Exit status: 0 ok, 1 failed, 2 usage error.
`;

export const attestCommand: CliCommand = {
  help: ATTEST_HELP,
  run: (argv, { io }) => attest(argv, io),
};

async function attest(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      'pki-dir': { type: 'string' },
      'public-key': { type: 'string' },
      'user-data': { type: 'string' },
      nonce: { type: 'string' },
      pcrs: { type: 'string' },
      debug: { type: 'boolean' },
      at: { type: 'string' },
      seed: { type: 'string' },
      format: { type: 'string' },
    },
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  if (values['pki-dir'] === undefined) throw new UsageError('--pki-dir DIR is required (create one with "nitro-sim pki init DIR")');
  const format = values.format ?? 'binary';
  if (!['binary', 'hex', 'base64'].includes(format)) throw new UsageError('--format must be binary, hex or base64');
  refuseBinaryToTerminal(io, format, values.format !== undefined);
  const at = values.at === undefined ? undefined : parseTimeArg(values.at, '--at');
  const userData = values['user-data'] === undefined ? undefined : parseHexArg(values['user-data'], '--user-data');
  const nonce = values.nonce === undefined ? undefined : parseHexArg(values.nonce, '--nonce');
  const seed = values.seed === undefined ? undefined : parseHexArg(values.seed, '--seed');
  const publicKey = values['public-key'] === undefined ? undefined : await readPublicKey(values['public-key']);
  const measurements = await measurementsOption(values.pcrs);

  const nsm = await SimulatedNsm.client({
    pki: await NitroPki.load(values['pki-dir']),
    ...(measurements ? { measurements } : {}),
    ...(values.debug ? { debug: true } : {}),
    ...(at ? { clock: () => at } : {}),
    ...(seed ? { seed } : {}),
  });
  const document = await nsm.attest({ ...(publicKey ? { publicKey } : {}), ...(userData ? { userData } : {}), ...(nonce ? { nonce } : {}) });
  await nsm.close();
  io.stdout(format === 'binary' ? document : `${Buffer.from(document).toString(format === 'hex' ? 'hex' : 'base64')}\n`);
  return EXIT.ok;
}
