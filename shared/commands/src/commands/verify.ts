import { parseArgs } from 'node:util';
import { AttestationError, AttestationVerifier, normalizeFingerprint, type AttestationExpectations } from '@nitro-datakey/shared/attestation';
import { attestationToJson, attestationToText } from '../attestation-json.js';
import {
  type CliCommand,
  type CliIo,
  EXIT,
  UsageError,
  onePositional,
  parseHexArg,
  parseTimeArg,
  readBinaryInput,
  runService,
} from '@nitro-datakey/shared/cli';
import { looksLikeCose } from '../input-kinds.js';
import { startVerifyPageServer } from '../verify-page-server.js';

const VERIFY_HELP = `Usage: nitro-datakey verify FILE [options]
       nitro-datakey verify --serve [--port N]

Verifies an AWS Nitro attestation document: COSE signature, certificate chain to a trusted
root, validity periods, and any expectations given. FILE is binary CBOR, hex or base64;
"-" reads standard input.

Options:
  --at TIME                  verify as of TIME (ISO-8601 or ms since epoch); default now.
                             Stored documents expire with their 3-hour leaf: verify them "at" their time.
  --root-fingerprint HEX     trust this root (SHA-256 of its DER); repeatable. Default: AWS Nitro root G1
  --pcr N=HEX                require PCR N to equal HEX; repeatable
  --nonce HEX                require this nonce
  --user-data HEX            require this user data
  --public-key-required      require a public key in the document
  --max-age SECONDS          require the document's timestamp to be at most this old
  --clock-tolerance SECONDS  allow this much clock skew (validity periods, --max-age, a timestamp a
                             little ahead of --at); default 0
  --deny-debug               refuse debug-mode documents (PCR0-2 all zero)
  --json                     print one JSON object
  --serve                    serve the verifier page on http://127.0.0.1 (loopback only) until
                             Ctrl-C: drop or paste a document and see the chain, the PCRs and the
                             verdict; it verifies in the browser and nothing leaves it. Prints one
                             JSON line {"ready":true,"url":...}
  --port N                   the page's port with --serve (default 0: any free port)
  -h, --help                 show this help

Exit status: 0 valid, 1 rejected, 2 usage error or unreadable input.
`;

export const verifyCommand: CliCommand = {
  help: VERIFY_HELP,
  run: (argv, { io, signals }) => verify(argv, io, signals),
};

const OPTIONS = {
  at: { type: 'string' },
  'root-fingerprint': { type: 'string', multiple: true },
  pcr: { type: 'string', multiple: true },
  nonce: { type: 'string' },
  'user-data': { type: 'string' },
  'public-key-required': { type: 'boolean' },
  'max-age': { type: 'string' },
  'clock-tolerance': { type: 'string' },
  'deny-debug': { type: 'boolean' },
  json: { type: 'boolean' },
  serve: { type: 'boolean' },
  port: { type: 'string' },
} as const;

type Values = ReturnType<typeof parseArgs<{ args: string[]; allowPositionals: true; options: typeof OPTIONS }>>['values'];

async function verify(argv: readonly string[], io: CliIo, signals: NodeJS.Process): Promise<number> {
  const { values, positionals } = parseArgs({ args: [...argv], allowPositionals: true, strict: true, options: OPTIONS });
  if (values.serve) return servePage(values, positionals, io, signals);
  if (values.port !== undefined) throw new UsageError('--port goes with --serve');
  const file = onePositional(positionals);
  const at = values.at === undefined ? undefined : parseTimeArg(values.at, '--at');
  let trustedRootFingerprints: string[] | undefined;
  try {
    trustedRootFingerprints = values['root-fingerprint']?.map(normalizeFingerprint);
  } catch (e) {
    throw new UsageError(`--root-fingerprint: ${(e as Error).message}`);
  }
  const expectations = expectationsFrom(values);
  const clockToleranceMs = values['clock-tolerance'] === undefined ? undefined : secondsOption(values['clock-tolerance'], '--clock-tolerance') * 1000;

  const bytes = await readBinaryInput(file, io, looksLikeCose);
  const verifier = new AttestationVerifier({
    ...(trustedRootFingerprints ? { trustedRootFingerprints } : {}),
    ...(at ? { clock: () => at } : {}),
    ...(clockToleranceMs !== undefined ? { clockToleranceMs } : {}),
    maxCachedCertificates: 0,
  });
  try {
    const doc = verifier.verify(bytes, expectations);
    const json = attestationToJson(doc);
    io.stdout(
      values.json
        ? `${JSON.stringify({ valid: true, document: json })}\n`
        : `VALID attestation document (root ${doc.rootFingerprint})\n${attestationToText(json)}`,
    );
    return EXIT.ok;
  } catch (e) {
    if (!(e instanceof AttestationError)) throw e;
    if (values.json) io.stdout(`${JSON.stringify({ valid: false, code: e.code, message: e.message })}\n`);
    else {
      const hint =
        e.code === 'ERR_ATTESTATION_CERT_EXPIRED' && !at ? '\nhint: leaf certificates live 3 hours; verify a stored document "at" its time with --at\n' : '';
      io.stderr(`REJECTED ${e.code}: ${e.message}\n${hint}`);
    }
    return EXIT.rejected;
  }
}

function servePage(values: Values, positionals: readonly string[], io: CliIo, signals: NodeJS.Process): Promise<number> {
  if (positionals.length > 0) throw new UsageError('--serve takes no FILE: the page reads documents in the browser');
  const port = values.port ?? '0';
  if (!/^\d{1,5}$/.test(port) || Number(port) > 65535) throw new UsageError('--port must be a port number from 0 to 65535');
  return runService('nitro-datakey verify', () => startVerifyPageServer(Number(port)), io, signals);
}

/** What the document must show, from the flags that ask for it. */
function expectationsFrom(values: Values): AttestationExpectations {
  return {
    ...(values.pcr ? { pcrs: pcrOption(values.pcr) } : {}),
    ...(values.nonce !== undefined ? { nonce: parseHexArg(values.nonce, '--nonce') } : {}),
    ...(values['user-data'] !== undefined ? { userData: parseHexArg(values['user-data'], '--user-data') } : {}),
    ...(values['public-key-required'] ? { publicKey: true } : {}),
    ...(values['max-age'] !== undefined ? { maxAgeMs: secondsOption(values['max-age'], '--max-age') * 1000 } : {}),
    ...(values['deny-debug'] ? { denyDebug: true } : {}),
  };
}

function pcrOption(items: readonly string[]): Map<number, Uint8Array> {
  const pcrs = new Map<number, Uint8Array>();
  for (const item of items) {
    const m = /^(\d{1,2})=(.*)$/.exec(item);
    if (!m || Number(m[1]) > 31) throw new UsageError(`--pcr takes N=HEX with N from 0 to 31, got ${JSON.stringify(item)}`);
    pcrs.set(Number(m[1]), parseHexArg(m[2] as string, `--pcr ${m[1]}`));
  }
  return pcrs;
}

function secondsOption(text: string, flag: string): number {
  if (!/^\d+(\.\d+)?$/.test(text)) throw new UsageError(`${flag} must be a number of seconds`);
  return Number(text);
}
