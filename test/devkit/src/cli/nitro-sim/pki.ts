import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type CliIo, type CliCommand, EXIT, onePositional, parseHexArg } from '@nitro-datakey/shared/cli';
import { NitroPki } from '../../nsm/pki.js';

const INIT_HELP = `Usage: nitro-sim pki init DIR [--seed HEX] [--json]

Creates a simulated Nitro PKI root in DIR (root.pem, root-key.pem mode 0600, root.sha256) and prints
its SHA-256 fingerprint. Refuses to overwrite an existing root. --seed makes the root reproducible.

Exit status: 0 ok, 1 failed, 2 usage error.
`;

const SHOW_HELP = `Usage: nitro-sim pki show DIR [--json]

Prints the fingerprint of the root saved in DIR.

Exit status: 0 ok, 1 failed, 2 usage error.
`;

export const pkiInitCommand: CliCommand = { help: INIT_HELP, run: (argv, { io }) => pkiInit(argv, io) };
export const pkiShowCommand: CliCommand = { help: SHOW_HELP, run: (argv, { io }) => pkiShow(argv, io) };

async function pkiInit(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({ args: [...argv], allowPositionals: true, options: { seed: { type: 'string' }, json: { type: 'boolean' } } });
  const dir = onePositional(positionals, 'DIR');
  if (existsSync(join(dir, 'root.pem')) || existsSync(join(dir, 'root-key.pem'))) {
    io.stderr(`nitro-sim: ${dir} already holds a root; remove it first or use "nitro-sim pki show ${dir}"\n`);
    return EXIT.rejected;
  }
  const pki = await NitroPki.create(values.seed === undefined ? {} : { seed: parseHexArg(values.seed, '--seed') });
  await pki.save(dir);
  io.stdout(values.json ? `${JSON.stringify({ rootFingerprint: pki.rootFingerprint, dir })}\n` : `${pki.rootFingerprint}\n`);
  return EXIT.ok;
}

async function pkiShow(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({ args: [...argv], allowPositionals: true, options: { json: { type: 'boolean' } } });
  const dir = onePositional(positionals, 'DIR');
  const pki = await NitroPki.load(dir);
  io.stdout(values.json ? `${JSON.stringify({ rootFingerprint: pki.rootFingerprint, dir })}\n` : `${pki.rootFingerprint}\n`);
  return EXIT.ok;
}
