import { parseArgs } from 'node:util';
import { decodeAttestation } from '@nitro-datakey/shared/attestation';
import { NitroDatakeyError } from '@nitro-datakey/shared/errors';
import { type CliCommand, type CliIo, EXIT, onePositional, readBinaryInput } from '@nitro-datakey/shared/cli';
import { attestationToJson, attestationToText } from '../attestation-json.js';
import { looksLikeCose } from '../input-kinds.js';

const INSPECT_HELP = `Usage: nitro-datakey inspect FILE [--json]

Decodes an attestation document WITHOUT verifying it (no signature, chain or time checks)
and prints its fields. FILE is binary CBOR, hex or base64; "-" reads standard input.

Exit status: 0 decoded, 1 malformed, 2 usage error or unreadable input.
`;

export const inspectCommand: CliCommand = {
  help: INSPECT_HELP,
  run: (argv, { io }) => inspect(argv, io),
};

async function inspect(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: { json: { type: 'boolean' } },
  });
  const bytes = await readBinaryInput(onePositional(positionals), io, looksLikeCose);
  try {
    const json = attestationToJson(decodeAttestation(bytes, { maxBytes: 256 * 1024 }).document);
    io.stdout(values.json ? `${JSON.stringify({ document: json })}\n` : `Attestation document (NOT verified)\n${attestationToText(json)}`);
    return EXIT.ok;
  } catch (e) {
    if (!(e instanceof NitroDatakeyError)) throw e;
    if (values.json) io.stdout(`${JSON.stringify({ valid: false, code: e.code, message: e.message })}\n`);
    else io.stderr(`MALFORMED ${e.code}: ${e.message}\n`);
    return EXIT.rejected;
  }
}
