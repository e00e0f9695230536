import { parseArgs } from 'node:util';
import {
  AttestationError,
  AttestationVerifier,
  decodeAttestation,
  normalizeFingerprint,
  type AttestationExpectations,
} from '@nitro-datakey/shared/attestation';
import { NitroDatakeyError } from '@nitro-datakey/shared/errors';
import { attestationToJson, attestationToText } from './attestation-json.js';
import { EXIT, UsageError, onePositional, parseHexArg, parseTimeArg, readBinaryInput, type CliIo } from '@nitro-datakey/shared/cli';

const VERIFY_HELP = `Usage: nitro-datakey verify FILE [options]

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
  -h, --help                 show this help

Exit status: 0 valid, 1 rejected, 2 usage error or unreadable input.
`;

const INSPECT_HELP = `Usage: nitro-datakey inspect FILE [--json]

Decodes an attestation document WITHOUT verifying it (no signature, chain or time checks)
and prints its fields. FILE is binary CBOR, hex or base64; "-" reads standard input.

Exit status: 0 decoded, 1 malformed, 2 usage error or unreadable input.
`;

// COSE_Sign1 starts with an array of 4 (0x84) or tag 18 (0xd2).
const looksLikeCose = (bytes: Uint8Array): boolean => bytes[0] === 0x84 || bytes[0] === 0xd2;

export async function verifyCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
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
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    io.stdout(VERIFY_HELP);
    return EXIT.ok;
  }
  const file = onePositional(positionals);
  const at = values.at === undefined ? undefined : parseTimeArg(values.at, '--at');
  let trustedRootFingerprints: string[] | undefined;
  try {
    trustedRootFingerprints = values['root-fingerprint']?.map(normalizeFingerprint);
  } catch (e) {
    throw new UsageError(`--root-fingerprint: ${(e as Error).message}`);
  }
  const expectations: {
    -readonly [K in keyof AttestationExpectations]: AttestationExpectations[K];
  } = {};
  if (values.pcr) {
    const pcrs = new Map<number, Uint8Array>();
    for (const item of values.pcr) {
      const m = /^(\d{1,2})=(.*)$/.exec(item);
      if (!m || Number(m[1]) > 31) throw new UsageError(`--pcr takes N=HEX with N from 0 to 31, got ${JSON.stringify(item)}`);
      pcrs.set(Number(m[1]), parseHexArg(m[2] as string, `--pcr ${m[1]}`));
    }
    expectations.pcrs = pcrs;
  }
  if (values.nonce !== undefined) expectations.nonce = parseHexArg(values.nonce, '--nonce');
  if (values['user-data'] !== undefined) expectations.userData = parseHexArg(values['user-data'], '--user-data');
  if (values['public-key-required']) expectations.publicKey = true;
  if (values['max-age'] !== undefined) {
    if (!/^\d+(\.\d+)?$/.test(values['max-age'])) throw new UsageError('--max-age must be a number of seconds');
    expectations.maxAgeMs = Number(values['max-age']) * 1000;
  }
  if (values['deny-debug']) expectations.denyDebug = true;
  let clockToleranceMs: number | undefined;
  if (values['clock-tolerance'] !== undefined) {
    if (!/^\d+(\.\d+)?$/.test(values['clock-tolerance'])) throw new UsageError('--clock-tolerance must be a number of seconds');
    clockToleranceMs = Number(values['clock-tolerance']) * 1000;
  }

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

export async function inspectCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    io.stdout(INSPECT_HELP);
    return EXIT.ok;
  }
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
