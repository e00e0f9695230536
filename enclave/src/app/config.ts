import { readFile } from 'node:fs/promises';
import { isLoopbackHost, parseAddress, type TransportAddress } from '@nitro-datakey/native';
import { isKeyArn, isSecretName } from '@nitro-datakey/shared';
import { configSchema, jsonSyntaxProblem, plainLocator, readConfig } from '@nitro-datakey/shared/cli';
import { EnclaveConfigError } from '../errors.js';

/** One secret: where its envelope comes from, what it must be sealed under, and the lowest version taken. */
export interface SecretItemConfig {
  readonly name: string;
  /** A file in the image (measured with it). Omitted: the envelope is fetched from the parent's secrets route, and rotates. */
  readonly envelope?: string;
  /** The key the envelope must be sealed under (a full ARN, or a name in kms.allowedKeys). */
  readonly keyId: string;
  readonly encryptionContext?: Readonly<Record<string, string>>;
  /** The lowest version (nitro-datakey seal --version) this enclave opens: the floor below which no rollback goes. */
  readonly minVersion?: number;
}

export interface SecretsConfig {
  /** A tmpfs directory the workload reads; files are written 0600. */
  readonly dir: string;
  readonly items: readonly SecretItemConfig[];
  /** The parent's secrets route (vsock:3:8003), for items without an envelope file. */
  readonly route?: TransportAddress;
  /** How often the items from the route are fetched again, to take a rotation (default 60 000 ms). */
  readonly refreshIntervalMs?: number;
  /** A signal sent to the workload when a secret file was replaced by a newer version (default: none). */
  readonly notifySignal?: 'SIGHUP' | 'SIGUSR1' | 'SIGUSR2';
}

export interface EnclaveAppConfig {
  readonly region: string;
  readonly kms: {
    readonly transport: TransportAddress;
    readonly endpoint?: string;
    readonly serverName?: string;
    readonly caFile?: string;
    readonly requestTimeoutMs?: number;
    /**
     * The keys the enclave may use: each name workloads and secrets use (an alias, a key id) mapped to
     * the full key ARN it must resolve to. Without it, only full key ARNs are accepted.
     */
    readonly allowedKeys?: Readonly<Record<string, string>>;
  };
  readonly credentials: { readonly transport: TransportAddress };
  readonly keys?: { readonly maxUses?: number; readonly maxAgeMs?: number; readonly poolSize?: number };
  readonly dataKeyCache?: { readonly maxAgeMs: number; readonly maxUses: number; readonly maxBytes: number };
  readonly secrets?: SecretsConfig;
  /** The telemetry route to the parent: the workload's output, the supervisor's log, heartbeats with metrics. */
  readonly telemetry?: {
    /** The parent's telemetry route (vsock:3:8004). */
    readonly route: TransportAddress;
    /** How often a heartbeat with the metrics goes up (default 5000 ms). */
    readonly heartbeatMs?: number;
    /** Lines held while the parent is slow or away; past it new lines are dropped and counted (default 1 MiB). */
    readonly maxQueueBytes?: number;
  };
  /**
   * The app's front for clients that verify the enclave (attestedFetch): requests to `listen` go to the app
   * at `upstream`; answers to a request with a nonce carry an attestation document binding them.
   */
  readonly attestedHttp?: {
    readonly listen: TransportAddress;
    readonly upstream: string;
    readonly maxBodyBytes?: number;
    /** Serve TLS with a key made in the enclave, and attest that key for AttestedAgent clients. */
    readonly tls?: boolean;
  };
  /** The workload `nitro-enclave run` supervises when no command follows `--`. */
  readonly run?: {
    readonly command?: readonly string[];
    /** Variables of the supervisor's environment the workload gets (default: PATH, HOME, LANG, LC_ALL, TZ, TERM). */
    readonly passEnv?: readonly string[];
    /** Variables set for the workload. */
    readonly env?: Readonly<Record<string, string>>;
  };
  /** The KMS-compatible gateway for workloads inside the enclave: loopback TCP or a Unix socket. */
  readonly gateway?: {
    readonly listen: TransportAddress;
    /** Unix socket only: the uids whose processes may call (default: the app's own). */
    readonly allowedUids?: readonly number[];
    readonly maxConcurrentRequests?: number;
  };
}

const c = configSchema;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const positive = c.integer(1);
const address = c.then(c.text(), (text, fail): TransportAddress => {
  try {
    return parseAddress(text);
  } catch (e) {
    return fail((e as Error).message);
  }
});
const keyArn = c.then(c.text(), (arn, fail) => (isKeyArn(arn) ? arn : fail('a full key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)')));

const kmsSchema = c.object({
  transport: address,
  endpoint: c.optional(c.text()),
  serverName: c.optional(c.text()),
  caFile: c.optional(c.text()),
  requestTimeoutMs: c.optional(positive),
  allowedKeys: c.optional(c.record(keyArn, { nonEmpty: true, expected: 'a non-empty map of names to key ARNs' })),
});

const secretItem = c.object({
  name: c.text((name) => (isSecretName(name) ? undefined : 'a file name of letters, digits, ".", "_" and "-"')),
  envelope: c.optional(c.text()),
  keyId: c.text(),
  encryptionContext: c.optional(c.record(c.anyString, { expected: 'a map of strings' })),
  minVersion: c.optional(positive),
});

const secretsSchema = c.object({
  dir: c.text(),
  items: c.list(secretItem),
  route: c.optional(address),
  refreshIntervalMs: c.optional(c.integer(1000)),
  notifySignal: c.optional(c.oneOf(['SIGHUP', 'SIGUSR1', 'SIGUSR2'] as const)),
});

const gatewaySchema = c.then(
  c.object({
    listen: address,
    allowedUids: c.optional(c.list(c.integer(0), { nonEmpty: true, expected: 'a non-empty list of user ids' })),
    maxConcurrentRequests: c.optional(positive),
  }),
  (gateway, fail) => {
    const { listen } = gateway;
    // Plaintext keys leave through the gateway: it must never be reachable from outside the enclave.
    if (listen.kind === 'vsock' || (listen.kind === 'tcp' && !isLoopbackHost(listen.host)))
      fail('the gateway hands out plaintext keys: it listens on loopback TCP or a Unix socket only', ['listen']);
    if (gateway.allowedUids !== undefined && listen.kind !== 'unix') fail('callers can be told apart by uid on a Unix socket only', ['allowedUids']);
    return gateway;
  },
);

const runSchema = c.object({
  command: c.optional(c.list(c.text(), { nonEmpty: true, expected: 'a non-empty list of strings: the program, then its arguments (no shell)' })),
  passEnv: c.optional(
    c.list(
      c.text((n) => (ENV_NAME.test(n) ? undefined : 'an environment variable name')),
      { expected: 'a list of environment variable names' },
    ),
  ),
  env: c.optional(
    c.record(c.anyString, {
      expected: 'an object of environment variable names to string values',
      key: (n) => (ENV_NAME.test(n) ? undefined : 'not an environment variable name'),
    }),
  ),
});

/** The NSM is not configured: it is /dev/nsm, or whatever the launcher passes (the dev kit passes a simulator). */
const enclaveConfigSchema = c.object({
  region: c.text(),
  kms: kmsSchema,
  credentials: c.object({ transport: address }),
  keys: c.optional(c.object({ maxUses: c.optional(positive), maxAgeMs: c.optional(positive), poolSize: c.optional(positive) })),
  dataKeyCache: c.optional(c.object({ maxAgeMs: positive, maxUses: positive, maxBytes: positive })),
  secrets: c.optional(secretsSchema),
  gateway: c.optional(gatewaySchema),
  attestedHttp: c.optional(
    c.object({
      listen: address,
      upstream: c.text((u) => (/^http:\/\/(127\.0\.0\.1|localhost|\[::1\]):\d+$/.test(u) ? undefined : 'the app on loopback: http://127.0.0.1:PORT')),
      maxBodyBytes: c.optional(positive),
      tls: c.optional(c.boolean),
    }),
  ),
  telemetry: c.optional(c.object({ route: address, heartbeatMs: c.optional(c.integer(100)), maxQueueBytes: c.optional(c.integer(4096)) })),
  run: c.optional(runSchema),
});

export async function loadEnclaveConfig(path: string): Promise<EnclaveAppConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new EnclaveConfigError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new EnclaveConfigError(`${path}: ${jsonSyntaxProblem(text)}`);
  }
  return parseEnclaveConfig(raw, path);
}

export function parseEnclaveConfig(raw: unknown, source = 'config'): EnclaveAppConfig {
  const fail = (message: string): never => {
    throw new EnclaveConfigError(message);
  };
  const config = readConfig(enclaveConfigSchema, raw, plainLocator(source), (message) => new EnclaveConfigError(message));
  // What no single member can check: each secret's key is one the enclave may use, and names are unique.
  const names = new Set<string>();
  config.secrets?.items.forEach((item, i) => {
    const where = `${source} at secrets.items[${i}]`;
    if (!isKeyArn(item.keyId) && !(config.kms.allowedKeys && Object.hasOwn(config.kms.allowedKeys, item.keyId)))
      fail(`${where}.keyId: the key the envelope must be sealed under: a full key ARN, or a name in kms.allowedKeys`);
    if (names.has(item.name)) fail(`${where}.name: ${item.name} is used twice`);
    if (item.envelope === undefined && config.secrets?.route === undefined)
      fail(`${where}.envelope: give the envelope file, or secrets.route to fetch it from the parent`);
    names.add(item.name);
  });
  return config;
}
