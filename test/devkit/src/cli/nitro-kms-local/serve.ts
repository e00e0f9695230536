import { openSync, writeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { isLoopbackHost } from '@nitro-datakey/native';
import { normalizeFingerprint } from '@nitro-datakey/shared';
import { type CliContext, type Logger, runService, UsageError } from '@nitro-datakey/shared/cli';
import type { AuditEvent } from '../../kms/audit.js';
import { type FaultConfig, parseFaultConfig } from '../../kms/faults/config.js';
import { readSeedFile } from '../../kms/seed.js';
import { parsePrincipalOption, type PrincipalEntry } from '../../kms/principals.js';
import { type LocalKmsOptions, startLocalKms } from '../../kms/server.js';

const OPTIONS = {
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
  iam: { type: 'string' },
  'recipient-rsa-2048-only': { type: 'boolean' },
  fault: { type: 'string' },
  'admin-port': { type: 'string' },
  audit: { type: 'string' },
  'shutdown-grace-ms': { type: 'string' },
} as const;

type Values = ReturnType<typeof parseArgs<{ args: string[]; allowPositionals: true; options: typeof OPTIONS }>>['values'];

/** `nitro-kms-local [options]`: the local KMS as a service, until SIGINT or SIGTERM. */
export async function serveLocalKms(argv: readonly string[], context: CliContext): Promise<number> {
  const { values, positionals } = parseArgs({ args: [...argv], allowPositionals: true, options: OPTIONS });
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  const options = await localKmsOptions(values, context.log);
  const shownRoots = options.trustedRootFingerprints ?? ['aws-nitro-root-g1'];
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
          iam: kms.iamMode,
          dataDir: values['data-dir'] ?? null,
        },
        close: () => kms.close(),
      };
    },
    context.io,
    context.signals,
  );
}

/** Every flag checked and turned into the server's options; a mistake is a usage error naming the flag. */
async function localKmsOptions(values: Values, log: Logger): Promise<LocalKmsOptions> {
  checkHost(values, log);
  const grace = values['shutdown-grace-ms'];
  if (grace !== undefined && !/^\d{1,7}$/.test(grace)) throw new UsageError('--shutdown-grace-ms must be a whole number of milliseconds');
  if (values.account !== undefined && !/^\d{12}$/.test(values.account)) throw new UsageError('--account must be 12 digits');
  if (values.region !== undefined && !/^[a-z]{2}(-[a-z]+)+-\d$/.test(values.region)) throw new UsageError(`--region ${values.region} is not a region name`);
  const iamMode = choice(values.iam, '--iam', ['strict', 'permissive'] as const);
  const unknownCallers = choice(values['unknown-callers'], '--unknown-callers', ['root', 'anonymous'] as const);
  const roots = trustRoots(values['trust-root-fingerprint']);
  const faults = faultOption(values.fault);
  const adminPort = values['admin-port'] === undefined ? undefined : portOption(values['admin-port'], '--admin-port');
  const iamPolicies = await iamPolicyOption(values['iam-policy']);
  const seed = await seedOption(values.seed);
  return {
    port: values.port === undefined ? 0 : portOption(values.port, '--port'),
    principals: principalOption(values.principal),
    ...(values.host ? { host: values.host } : {}),
    ...(unknownCallers ? { unknownCallers } : {}),
    ...(iamPolicies ? { iamPolicies } : {}),
    ...(iamMode ? { iamMode } : {}),
    ...(values['recipient-rsa-2048-only'] ? { recipientRsa2048Only: true } : {}),
    ...(faults ? { faults } : {}),
    ...(adminPort !== undefined ? { adminPort } : {}),
    ...(values.audit ? { audit: auditWriter(values.audit) } : {}),
    ...(grace !== undefined ? { shutdownGraceMs: Number(grace) } : {}),
    ...(values['data-dir'] ? { dataDir: values['data-dir'] } : {}),
    ...(values.region ? { region: values.region } : {}),
    ...(values.account ? { account: values.account } : {}),
    ...(roots ? { trustedRootFingerprints: roots } : {}),
    ...(values.tls ? { tls: true } : {}),
    ...(seed ? { seed } : {}),
    ...(values.quiet ? {} : { log }),
  };
}

function choice<const T extends string>(value: string | undefined, flag: string, choices: readonly T[]): T | undefined {
  if (value !== undefined && !(choices as readonly string[]).includes(value)) throw new UsageError(`${flag} takes ${choices.join(' or ')}`);
  return value as T | undefined;
}

function checkHost(values: Values, log: Logger): void {
  if (values.host === undefined || isLoopbackHost(values.host)) return;
  // Anyone who can reach it could act as any principal: SigV4 is not verified.
  if (!values['allow-non-loopback']) {
    throw new UsageError(`--host ${values.host} is not a loopback address: nitro-kms-local checks no signatures (add --allow-non-loopback to do it anyway)`);
  }
  log('warn', 'listening on a non-loopback address without signature checks', { host: values.host });
}

/** A port, or 0 for any free one. */
function portOption(text: string, flag: string): number {
  const port = Number(text);
  if (!/^\d{1,5}$/.test(text) || port > 65535) throw new UsageError(`${flag} must be 0 to 65535, got ${JSON.stringify(text)}`);
  return port;
}

function trustRoots(fingerprints: readonly string[] | undefined): string[] | undefined {
  try {
    return fingerprints?.map(normalizeFingerprint);
  } catch (e) {
    throw new UsageError(`--trust-root-fingerprint: ${(e as Error).message}`);
  }
}

function principalOption(items: readonly string[] | undefined): Record<string, PrincipalEntry> {
  const principals: Record<string, PrincipalEntry> = {};
  for (const item of items ?? []) {
    try {
      const [accessKeyId, entry] = parsePrincipalOption(item);
      principals[accessKeyId] = entry;
    } catch (e) {
      throw new UsageError(`--principal: ${(e as Error).message}`);
    }
  }
  return principals;
}

function faultOption(text: string | undefined): FaultConfig | undefined {
  if (text === undefined) return undefined;
  try {
    return parseFaultConfig(JSON.parse(text));
  } catch (e) {
    throw new UsageError(`--fault: ${(e as Error).message}`);
  }
}

async function iamPolicyOption(items: readonly string[] | undefined): Promise<Record<string, string[]> | undefined> {
  let policies: Record<string, string[]> | undefined;
  for (const item of items ?? []) {
    const m = /^(arn:aws:(?:iam|sts)::\d{12}:[^=]+)=(.+)$/.exec(item);
    if (!m) throw new UsageError(`--iam-policy takes ARN=FILE, got ${JSON.stringify(item)}`);
    const [, arn, file] = m as unknown as [string, string, string];
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      throw new UsageError(`--iam-policy ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
    policies ??= {};
    policies[arn] = [...(policies[arn] ?? []), text];
  }
  return policies;
}

async function seedOption(path: string | undefined): Promise<Awaited<ReturnType<typeof readSeedFile>> | undefined> {
  try {
    return path === undefined ? undefined : await readSeedFile(path);
  } catch (e) {
    throw new UsageError(`--seed: ${(e as Error).message}`);
  }
}

/** Appends each event as one JSON line to `path` (created 0600); lines are written whole, in order. */
function auditWriter(path: string): (event: AuditEvent) => void {
  let fd: number;
  try {
    fd = openSync(path, 'a', 0o600);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? String(e);
    throw new UsageError(`cannot open --audit ${path}: ${code}${code === 'ENOENT' ? ' (its directory does not exist)' : ''}`);
  }
  return (event) => {
    writeSync(fd, `${JSON.stringify(event)}\n`);
  };
}
