import { openSync, writeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { normalizeFingerprint } from '@nitro-datakey/shared';
import {
  type CliIo,
  errorLine,
  EXIT,
  exitCodeFor,
  jsonLogger,
  type Logger,
  packageVersion,
  processIo,
  runService,
  UsageError,
  wantsVersion,
} from '@nitro-datakey/shared/cli';
import { type FaultConfig, parseFaultConfig } from '../kms/faults.js';
import { readSeedFile } from '../kms/seed.js';
import { DevkitError } from '../errors.js';
import type { AuditEvent } from '../kms/audit.js';
import type { StoredAlias, StoredKey } from '../kms/keystore.js';
import { type LocalKmsOptions, startLocalKms } from '../kms/server.js';
import { isLoopbackHost } from '@nitro-datakey/native';

const USAGE = `Usage: nitro-kms-local [options]
       nitro-kms-local export --data-dir DIR [--region REGION] [--account ID]
       nitro-kms-local audit --file FILE [--key KEY] [--operation NAME] [--denied] [--injected]

A local AWS KMS that honours Recipient (attested requests) the way AWS does. Point the AWS SDK or CLI
at it with an endpoint override. SigV4 signatures are NOT checked: it is a local tool, bound to
loopback by default.

Options:
  --host HOST                       listen address (default 127.0.0.1); anything but loopback needs
                                    --allow-non-loopback, since signatures are not checked
  --allow-non-loopback              listen on a non-loopback HOST anyway (prints a warning)
  --port PORT                       listen port (default 0: any free port)
  --data-dir DIR                    persist keys, aliases and TLS material in DIR (default: in memory)
  --region REGION                   default us-east-1
  --account ID                      12-digit account id (default 111122223333)
  --trust-root-fingerprint HEX      trust this Nitro root for Recipient documents; repeatable
                                    (default: the AWS Nitro root only)
  --fault JSON                      inject faults from the start, e.g. '{"throttle":{"next":2}}' (fields:
                                    throttle, serverError, reset, invalidState as {"next": N} or
                                    {"rate": 0..1}; latencyMs; attested: "plaintext" | "foreign-recipient")
  --admin-port PORT                 serve GET/PUT http://127.0.0.1:PORT/faults to change faults at run
                                    time (127.0.0.1 only; 0: any free port). Its URL and a bearer token
                                    are in the ready line (adminEndpoint, adminToken): send
                                    "Authorization: Bearer TOKEN" with every request
  --recipient-rsa-2048-only         refuse Recipient keys other than RSA-2048 (default: 2048-4096 bits)
  --tls                             serve HTTPS with a locally generated CA; its path is printed
  --seed FILE                       keys, aliases and key policies to create at start (JSON)
  --principal ACCESS_KEY_ID=ARN     the caller ARN for an access key id; repeatable
                                    (other access key ids are the account root, or see below)
  --iam-policy ARN=FILE             an IAM policy (JSON) of a principal, for CreateKey and GenerateRandom;
                                    repeatable. Given at all, those need an Allow from the caller's policies
  --unknown-callers root|anonymous  who an unmapped access key id is (default root; anonymous
                                    matches only "Principal": "*")
  --audit FILE                      append the audit trail to FILE (0600): one CloudTrail-shaped JSON
                                    event per request, never key material or attestation documents
  --shutdown-grace-ms N             on SIGINT/SIGTERM, let requests in flight finish for N ms, then close
                                    every connection (default 2000)
  --quiet                           no request log on stderr
  -h, --help                        show this help

"audit" prints the events of an audit file that match: --key (a key id or ARN), --operation (an
eventName), --denied (AccessDeniedException only), --injected (requests a --fault or the admin
endpoint changed: additionalEventData.injectedFault names the fault).

"export" prints the data directory's keys and aliases as JSON (metadata and policies, never key
material); it reads state.json and works while a server runs on the directory.

When ready it prints one JSON line on stdout: {"ready": true, "endpoint", "region", "account", "caCertPath"?, ...}.
It stops cleanly on SIGINT or SIGTERM. Exit status: 0 stopped cleanly, 1 failed, 2 usage error.
`;

/** The `nitro-kms-local` command; returns its exit status and never throws. */
export async function nitroKmsLocal(argv: readonly string[], io: CliIo = processIo, signals: NodeJS.Process = process, log?: Logger): Promise<number> {
  if (wantsVersion(argv)) {
    io.stdout(`${packageVersion(import.meta.url)}\n`);
    return EXIT.ok;
  }
  if (argv[0] === 'audit') {
    try {
      return await auditCommand(argv.slice(1), io);
    } catch (e) {
      io.stderr(errorLine('nitro-kms-local audit', e));
      return exitCodeFor(e);
    }
  }
  if (argv[0] === 'export') {
    try {
      return await exportCommand(argv.slice(1), io);
    } catch (e) {
      io.stderr(errorLine('nitro-kms-local export', e));
      return exitCodeFor(e);
    }
  }
  let options: LocalKmsOptions;
  let shownRoots: readonly string[];
  let dataDir: string | null;
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        host: { type: 'string' },
        port: { type: 'string' },
        'data-dir': { type: 'string' },
        region: { type: 'string' },
        account: { type: 'string' },
        'trust-root-fingerprint': { type: 'string', multiple: true },
        tls: { type: 'boolean' },
        seed: { type: 'string' },
        principal: { type: 'string', multiple: true },
        quiet: { type: 'boolean' },
        'allow-non-loopback': { type: 'boolean' },
        'unknown-callers': { type: 'string' },
        'iam-policy': { type: 'string', multiple: true },
        'recipient-rsa-2048-only': { type: 'boolean' },
        fault: { type: 'string' },
        'admin-port': { type: 'string' },
        audit: { type: 'string' },
        'shutdown-grace-ms': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      io.stdout(USAGE);
      return EXIT.ok;
    }
    if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
    if (values['unknown-callers'] !== undefined && !['root', 'anonymous'].includes(values['unknown-callers'])) {
      throw new UsageError('--unknown-callers takes root or anonymous');
    }
    if (values.host !== undefined && !isLoopbackHost(values.host)) {
      // Anyone who can reach it could act as any principal: SigV4 is not verified.
      if (!values['allow-non-loopback']) {
        throw new UsageError(
          `--host ${values.host} is not a loopback address: nitro-kms-local checks no signatures (add --allow-non-loopback to do it anyway)`,
        );
      }
      (log ?? jsonLogger((line) => io.stderr(line)))('warn', 'listening on a non-loopback address without signature checks', { host: values.host });
    }
    const port = values.port === undefined ? 0 : Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError('--port must be 0 to 65535');
    if (values.account !== undefined && !/^\d{12}$/.test(values.account)) throw new UsageError('--account must be 12 digits');
    const grace = values['shutdown-grace-ms'];
    if (grace !== undefined && !/^\d{1,7}$/.test(grace)) throw new UsageError('--shutdown-grace-ms must be a whole number of milliseconds');
    if (values.region !== undefined && !/^[a-z]{2}(-[a-z]+)+-\d$/.test(values.region)) throw new UsageError(`--region ${values.region} is not a region name`);
    let roots: string[] | undefined;
    try {
      roots = values['trust-root-fingerprint']?.map(normalizeFingerprint);
    } catch (e) {
      throw new UsageError(`--trust-root-fingerprint: ${(e as Error).message}`);
    }
    const principals: Record<string, string> = {};
    for (const item of values.principal ?? []) {
      const m = /^([A-Z0-9]{4,128})=(arn:aws:(?:iam|sts)::\d{12}:.+)$/.exec(item);
      if (!m) throw new UsageError(`--principal takes ACCESS_KEY_ID=ARN, got ${JSON.stringify(item)}`);
      principals[m[1] as string] = m[2] as string;
    }
    let faults: FaultConfig | undefined;
    if (values.fault !== undefined) {
      try {
        faults = parseFaultConfig(JSON.parse(values.fault));
      } catch (e) {
        throw new UsageError(`--fault: ${(e as Error).message}`);
      }
    }
    let adminPort: number | undefined;
    if (values['admin-port'] !== undefined) {
      adminPort = Number(values['admin-port']);
      if (!/^\d{1,5}$/.test(values['admin-port']) || adminPort > 65535) throw new UsageError(`--admin-port takes a port number, got ${values['admin-port']}`);
    }
    let iamPolicies: Record<string, string[]> | undefined;
    for (const item of values['iam-policy'] ?? []) {
      const m = /^(arn:aws:(?:iam|sts)::\d{12}:[^=]+)=(.+)$/.exec(item);
      if (!m) throw new UsageError(`--iam-policy takes ARN=FILE, got ${JSON.stringify(item)}`);
      let text: string;
      try {
        text = await readFile(m[2] as string, 'utf8');
      } catch (e) {
        throw new UsageError(`--iam-policy ${m[2]}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
      }
      iamPolicies ??= {};
      iamPolicies[m[1] as string] = [...(iamPolicies[m[1] as string] ?? []), text];
    }
    let seed: Awaited<ReturnType<typeof readSeedFile>> | undefined;
    try {
      seed = values.seed === undefined ? undefined : await readSeedFile(values.seed);
    } catch (e) {
      throw new UsageError(`--seed: ${(e as Error).message}`);
    }
    options = {
      ...(values.host ? { host: values.host } : {}),
      ...(values['unknown-callers'] ? { unknownCallers: values['unknown-callers'] as 'root' | 'anonymous' } : {}),
      ...(iamPolicies ? { iamPolicies } : {}),
      ...(values['recipient-rsa-2048-only'] ? { recipientRsa2048Only: true } : {}),
      ...(faults ? { faults } : {}),
      ...(adminPort !== undefined ? { adminPort } : {}),
      ...(values.audit ? { audit: auditWriter(values.audit) } : {}),
      ...(grace !== undefined ? { shutdownGraceMs: Number(grace) } : {}),
      port,
      ...(values['data-dir'] ? { dataDir: values['data-dir'] } : {}),
      ...(values.region ? { region: values.region } : {}),
      ...(values.account ? { account: values.account } : {}),
      ...(roots ? { trustedRootFingerprints: roots } : {}),
      ...(values.tls ? { tls: true } : {}),
      ...(seed ? { seed } : {}),
      principals,
      ...(values.quiet ? {} : { log: log ?? jsonLogger((line) => io.stderr(line)) }),
    };
    shownRoots = roots ?? ['aws-nitro-root-g1'];
    dataDir = values['data-dir'] ?? null;
  } catch (e) {
    io.stderr(errorLine('nitro-kms-local', e));
    return exitCodeFor(e);
  }
  return runService(
    'nitro-kms-local',
    async () => {
      const kms = await startLocalKms(options);
      return {
        ready: {
          endpoint: kms.endpoint,
          region: kms.region,
          account: kms.account,
          ...(kms.caCertPath ? { caCertPath: kms.caCertPath } : {}),
          ...(kms.adminEndpoint ? { adminEndpoint: kms.adminEndpoint, adminToken: kms.adminToken } : {}),
          trustedRootFingerprints: shownRoots,
          dataDir,
        },
        close: () => kms.close(),
      };
    },
    io,
    signals,
  );
}

/** `nitro-kms-local export`: the key store's metadata as JSON, for inspection and backups (no key material). */
async function exportCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: { 'data-dir': { type: 'string' }, region: { type: 'string' }, account: { type: 'string' } },
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  if (values['data-dir'] === undefined) throw new UsageError('--data-dir DIR is required');
  const region = values.region ?? 'us-east-1';
  const account = values.account ?? '111122223333';
  let text: string;
  try {
    text = await readFile(join(values['data-dir'], 'state.json'), 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read ${join(values['data-dir'], 'state.json')}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  const state = JSON.parse(text) as { format?: string; keys?: StoredKey[]; aliases?: StoredAlias[] };
  if (state.format !== 'nitro-kms-local/1' || !Array.isArray(state.keys) || !Array.isArray(state.aliases)) {
    throw new DevkitError('ERR_KMS_DATA_DIR', `${values['data-dir']}/state.json is not a nitro-kms-local/1 key store`);
  }
  const arn = (keyId: string) => `arn:aws:kms:${region}:${account}:key/${keyId}`;
  const out = {
    format: 'nitro-kms-local/export-1',
    keys: state.keys.map((k) => ({
      KeyId: k.keyId,
      Arn: arn(k.keyId),
      KeyState: k.state,
      Description: k.description,
      KeyUsage: k.keyUsage ?? 'ENCRYPT_DECRYPT',
      KeySpec: k.keySpec ?? 'SYMMETRIC_DEFAULT',
      CreationDate: new Date(k.creationDate).toISOString(),
      ...(k.deletionDate !== undefined ? { DeletionDate: new Date(k.deletionDate).toISOString() } : {}),
      ...(k.publicKey ? { PublicKey: k.publicKey } : {}),
      Policy: JSON.parse(k.policy) as unknown,
    })),
    aliases: state.aliases.map((a) => ({ AliasName: a.name, TargetKeyId: a.targetKeyId, CreationDate: new Date(a.creationDate).toISOString() })),
  };
  io.stdout(`${JSON.stringify(out, null, 2)}\n`);
  return EXIT.ok;
}

/** Appends each event as one JSON line to `path` (created 0600); lines are written whole, in order. */
function auditWriter(path: string): (event: AuditEvent) => void {
  const fd = openSync(path, 'a', 0o600);
  return (event) => {
    writeSync(fd, `${JSON.stringify(event)}\n`);
  };
}

/** `nitro-kms-local audit`: the matching events of an audit file, as JSON lines. */
async function auditCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: { file: { type: 'string' }, key: { type: 'string' }, operation: { type: 'string' }, denied: { type: 'boolean' }, injected: { type: 'boolean' } },
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  if (values.file === undefined) throw new UsageError('--file FILE is required');
  let text: string;
  try {
    text = await readFile(values.file, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read ${values.file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  const key = values.key;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    let event: AuditEvent;
    try {
      event = JSON.parse(line) as AuditEvent;
    } catch {
      throw new DevkitError('ERR_KMS_DATA_DIR', `${values.file}: a line is not JSON`);
    }
    if (values.operation !== undefined && event.eventName !== values.operation) continue;
    if (values.denied && event.errorCode !== 'AccessDeniedException') continue;
    if (values.injected && event.additionalEventData?.['injectedFault'] === undefined) continue;
    if (key !== undefined && !event.resources.some((r) => r.ARN === key || r.ARN.endsWith(`:key/${key}`))) continue;
    io.stdout(`${line}\n`);
  }
  return EXIT.ok;
}
