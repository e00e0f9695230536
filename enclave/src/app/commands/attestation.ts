import { parseArgs } from 'node:util';
import type { Nsm } from '@nitro-datakey/shared';
import { type CliCommand, type CliIo, EXIT, parseHexArg, UsageError, writeFileAtomic } from '@nitro-datakey/shared/cli';

const ATTESTATION_USAGE = `Usage: nitro-enclave attestation --nonce HEX [--user-data HEX] [--out FILE] [--format cbor|base64|hex]

Asks the NSM for an attestation document over your nonce (and user data, if given) and writes it:
to FILE (0644, atomically), or to standard output as base64 or hex (raw CBOR only with --out or
--format cbor). Check it anywhere with "nitro-datakey verify FILE --nonce HEX".

From the parent, without a console in the enclave: GET /attestation?nonce=HEX on the proxy's metrics
address (the telemetry route passes the request to the enclave).

Exit status: 0 written, 1 the NSM failed, 2 usage error.
`;

export function attestationCommand(openNsm: () => Promise<Nsm> | Nsm): CliCommand {
  return { help: ATTESTATION_USAGE, run: (argv, { io }) => attestation(argv, io, openNsm) };
}

async function attestation(argv: readonly string[], io: CliIo, openNsm: () => Promise<Nsm> | Nsm): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: { nonce: { type: 'string' }, 'user-data': { type: 'string' }, out: { type: 'string' }, format: { type: 'string' } },
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  // A document without a nonce could be an old one replayed: the verifier's nonce check needs one.
  if (values.nonce === undefined) throw new UsageError('--nonce HEX is required: a fresh value of your own, checked by verify --nonce');
  const format = values.format ?? (values.out ? 'cbor' : 'base64');
  if (format !== 'cbor' && format !== 'base64' && format !== 'hex') throw new UsageError('--format takes cbor, base64 or hex');
  const nonce = parseHexArg(values.nonce, '--nonce');
  const userData = values['user-data'] === undefined ? undefined : parseHexArg(values['user-data'], '--user-data');
  const nsm = await openNsm();
  const document = await nsm.attest({ nonce, ...(userData ? { userData } : {}) });
  const text = format === 'cbor' ? document : `${Buffer.from(document).toString(format)}\n`;
  if (values.out) await writeFileAtomic(values.out, text, 0o644);
  else io.stdout(text);
  return EXIT.ok;
}
