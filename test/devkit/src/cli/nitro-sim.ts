import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  type CliIo,
  errorLine,
  EXIT,
  exitCodeFor,
  onePositional,
  packageVersion,
  parseHexArg,
  parseTimeArg,
  processIo,
  jsonLogger,
  readKeyFile,
  runService,
  UsageError,
  wantsVersion,
} from '@nitro-datakey/shared/cli';
import { readMeasurements } from '../nsm/measurements.js';
import { serveNsmDevice } from '../nsm/device-server.js';
import { NitroPki } from '../nsm/pki.js';
import { SimulatedNsm } from '../nsm/simulated-nsm.js';

const USAGE = `Usage: nitro-sim COMMAND [options]

A simulated Nitro Secure Module for machines without Nitro hardware. Its documents are laid out and
signed like real ones, under a root of your own: trust that root by fingerprint.

Commands:
  pki init DIR [--seed HEX] [--json]
      Create a simulated Nitro PKI root in DIR (root.pem, root-key.pem mode 0600, root.sha256) and print
      its SHA-256 fingerprint. Refuses to overwrite an existing root.
  pki show DIR [--json]
      Print the fingerprint of the root saved in DIR.
  attest --pki-dir DIR [--public-key FILE] [--user-data HEX] [--nonce HEX] [--pcrs measurements.json]
         [--debug] [--at TIME] [--seed HEX] [--format binary|hex|base64]
      Boot a simulated NSM under DIR's root and write one attestation document to standard output
      (binary by default). --public-key takes a DER or PEM SubjectPublicKeyInfo; --pcrs takes the JSON
      "nitro-cli build-enclave" prints; --debug zeroes PCR0-2 as a debug-mode enclave does.
  enclave --pki-dir DIR [--pcrs measurements.json] [--debug] -- NITRO_ENCLAVE_ARGS...
      Run the enclave app ("nitro-enclave --config FILE", or "nitro-enclave seal ...") on a simulated
      NSM under DIR's root instead of /dev/nsm. Everything after "--" goes to nitro-enclave.
  nsm-device --socket PATH --pki-dir DIR [--pcrs measurements.json] [--debug]
      Serve the NSM device's request and response bytes on a Unix socket (mode 0600) for the test
      build's LD_PRELOAD shim, which stands in for /dev/nsm so the real addon's ioctl reaches a simulated
      NSM ("make demo-native"). Prints a JSON ready line, logs each request's type (never its bytes) as a
      JSON line on stderr, and stops on SIGINT or SIGTERM.

Exit status: 0 ok, 1 failed, 2 usage error.
`;

/** The `nitro-sim` command; returns its exit status and never throws. */
export async function nitroSim(argv: readonly string[], io: CliIo = processIo, signals: NodeJS.Process = process): Promise<number> {
  try {
    if (wantsVersion(argv)) {
      io.stdout(`${packageVersion(import.meta.url)}\n`);
      return EXIT.ok;
    }
    const [command, sub, ...rest] = argv;
    if (command === undefined || command === '--help' || command === '-h') {
      (command === undefined ? io.stderr : io.stdout)(USAGE);
      return command === undefined ? EXIT.usage : EXIT.ok;
    }
    // "nitro-sim pki --help", "nitro-sim attest --help", ...: the section of the usage for that command.
    const own = argv.includes('--') ? argv.slice(0, argv.indexOf('--')) : argv; // after "--": nitro-enclave's arguments
    if (command !== undefined && (own.includes('--help') || own.includes('-h'))) {
      const section = commandHelp(command);
      if (section) {
        io.stdout(section);
        return EXIT.ok;
      }
    }
    if (command === 'pki' && sub === 'init') return await pkiInit(rest, io);
    if (command === 'pki' && sub === 'show') return await pkiShow(rest, io);
    if (command === 'attest') return await attest(sub === undefined ? [] : [sub, ...rest], io);
    if (command === 'enclave') return await enclave(sub === undefined ? [] : [sub, ...rest], io, signals);
    if (command === 'nsm-device') return await nsmDevice(sub === undefined ? [] : [sub, ...rest], io, signals);
    throw new UsageError(`unknown command ${JSON.stringify([command, sub].filter(Boolean).join(' '))}`);
  } catch (e) {
    const code = exitCodeFor(e);
    io.stderr(`${errorLine('nitro-sim', e)}${code === EXIT.usage ? '\nRun "nitro-sim --help" for usage.\n' : ''}`);
    return code;
  }
}

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

async function readPublicKey(path: string): Promise<Uint8Array> {
  return new Uint8Array((await readKeyFile(path, 'public')).export({ format: 'der', type: 'spki' }));
}

/** The enclave app on a simulated NSM: the production command, with the NSM injected. */
async function enclave(argv: readonly string[], io: CliIo, signals: NodeJS.Process): Promise<number> {
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
  return nitroEnclave(argv.slice(split + 1), io, signals, { openNsm });
}

/** `--pcrs FILE`: the measurements JSON, or a usage error that names the option. */
async function measurementsOption(path: string | undefined): Promise<Awaited<ReturnType<typeof readMeasurements>> | undefined> {
  try {
    return path === undefined ? undefined : await readMeasurements(path);
  } catch (e) {
    throw new UsageError(`--pcrs: ${(e as Error).message}`);
  }
}

/** The NSM device's bytes on a Unix socket, for the LD_PRELOAD shim of the test build. */
async function nsmDevice(argv: readonly string[], io: CliIo, signals: NodeJS.Process): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: { socket: { type: 'string' }, 'pki-dir': { type: 'string' }, pcrs: { type: 'string' }, debug: { type: 'boolean' } },
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  if (values.socket === undefined) throw new UsageError('--socket PATH is required');
  if (values['pki-dir'] === undefined) throw new UsageError('--pki-dir DIR is required (create one with "nitro-sim pki init DIR")');
  const socketPath = values.socket;
  const measurements = await measurementsOption(values.pcrs);
  const pki = await NitroPki.load(values['pki-dir']);
  const log = jsonLogger((line) => io.stderr(line));
  return runService(
    'nitro-sim',
    async () => {
      const nsm = await SimulatedNsm.boot({ pki, ...(measurements ? { measurements } : {}), ...(values.debug ? { debug: true } : {}) });
      const device = await serveNsmDevice(nsm, socketPath, { onRequest: (type) => log('info', 'nsm request', { request: type }) });
      return {
        ready: { socket: device.path, moduleId: nsm.moduleId, rootFingerprint: pki.rootFingerprint, pid: process.pid },
        close: async () => {
          await device.close();
          nsm.close();
        },
      };
    },
    io,
    signals,
  );
}

/** The usage lines of one command (`pki`, `attest`, `enclave`), with the common header. */
function commandHelp(command: string): string | undefined {
  const lines = USAGE.split('\n');
  const start = lines.findIndex((l) => l.startsWith(`  ${command} `) || l === `  ${command}`);
  if (start < 0) return undefined;
  const section: string[] = [];
  for (let i = start; i < lines.length; i++) {
    const line = lines[i] as string;
    if (i > start && (line === '' || (/^ {2}\S/.test(line) && !line.startsWith(`  ${command} `)))) break;
    section.push(line);
  }
  return `Usage: nitro-sim ${command} ...\n\n${section.join('\n')}\n\nExit status: 0 ok, 1 failed, 2 usage error.\n`;
}
