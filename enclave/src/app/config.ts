import { readFile } from 'node:fs/promises';
import { isLoopbackHost, parseAddress, type TransportAddress } from '@nitro-datakey/native';
import { isKeyArn, isSecretName } from '@nitro-datakey/shared';
import { EnclaveConfigError } from '../errors.js';

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
  readonly secrets?: {
    /** A tmpfs directory the workload reads; files are written 0600. */
    readonly dir: string;
    readonly items: readonly {
      readonly name: string;
      readonly envelope: string;
      /** The key the envelope must be sealed under (a full ARN, or a name in kms.allowedKeys). */
      readonly keyId: string;
      readonly encryptionContext?: Readonly<Record<string, string>>;
    }[];
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

/** The NSM is not configured: it is /dev/nsm, or whatever the launcher passes (the dev kit passes a simulator). */
const TOP = ['region', 'kms', 'credentials', 'keys', 'dataKeyCache', 'secrets', 'gateway', 'run'];

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
  } catch (e) {
    throw new EnclaveConfigError(`${path}: not valid JSON (${(e as Error).message})`);
  }
  return parseEnclaveConfig(raw, path);
}

export function parseEnclaveConfig(raw: unknown, source = 'config'): EnclaveAppConfig {
  const fail = (where: string, message: string): never => {
    throw new EnclaveConfigError(`${source}: ${where}: ${message}`);
  };
  const obj = (v: unknown, where: string, keys: readonly string[]): Record<string, unknown> => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) fail(where, 'expected an object');
    for (const k of Object.keys(v as object)) if (!keys.includes(k)) fail(`${where}.${k}`, `unknown key (known: ${keys.join(', ')})`);
    return v as Record<string, unknown>;
  };
  const str = (v: unknown, where: string): string => (typeof v === 'string' && v.length > 0 ? v : fail(where, 'expected a non-empty string'));
  const addr = (v: unknown, where: string): TransportAddress => {
    try {
      return parseAddress(str(v, where));
    } catch (e) {
      return fail(where, (e as Error).message);
    }
  };
  const int = (v: unknown, where: string): number | undefined =>
    v === undefined ? undefined : typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : fail(where, 'expected a positive integer');

  const root = obj(raw, '(top)', TOP);
  const region = str(root['region'], 'region');
  const k = obj(root['kms'], 'kms', ['transport', 'endpoint', 'serverName', 'caFile', 'requestTimeoutMs', 'allowedKeys']);
  let allowedKeys: Record<string, string> | undefined;
  if (k['allowedKeys'] !== undefined) {
    const a = k['allowedKeys'];
    if (a === null || typeof a !== 'object' || Array.isArray(a) || Object.keys(a).length === 0) fail('kms.allowedKeys', 'a non-empty map of names to key ARNs');
    allowedKeys = {};
    for (const [name, arn] of Object.entries(a as Record<string, unknown>)) {
      if (typeof arn !== 'string' || !isKeyArn(arn)) fail(`kms.allowedKeys.${name}`, 'a full key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)');
      allowedKeys[name] = arn as string;
    }
  }
  const kms = {
    transport: addr(k['transport'], 'kms.transport'),
    ...(k['endpoint'] !== undefined ? { endpoint: str(k['endpoint'], 'kms.endpoint') } : {}),
    ...(k['serverName'] !== undefined ? { serverName: str(k['serverName'], 'kms.serverName') } : {}),
    ...(k['caFile'] !== undefined ? { caFile: str(k['caFile'], 'kms.caFile') } : {}),
    ...(k['requestTimeoutMs'] !== undefined ? { requestTimeoutMs: int(k['requestTimeoutMs'], 'kms.requestTimeoutMs') as number } : {}),
    ...(allowedKeys ? { allowedKeys } : {}),
  };
  const c = obj(root['credentials'], 'credentials', ['transport']);
  const credentials = { transport: addr(c['transport'], 'credentials.transport') };
  let keys: EnclaveAppConfig['keys'];
  if (root['keys'] !== undefined) {
    const kk = obj(root['keys'], 'keys', ['maxUses', 'maxAgeMs', 'poolSize']);
    keys = Object.fromEntries(['maxUses', 'maxAgeMs', 'poolSize'].filter((x) => kk[x] !== undefined).map((x) => [x, int(kk[x], `keys.${x}`)]));
  }
  let dataKeyCache: EnclaveAppConfig['dataKeyCache'];
  if (root['dataKeyCache'] !== undefined) {
    const d = obj(root['dataKeyCache'], 'dataKeyCache', ['maxAgeMs', 'maxUses', 'maxBytes']);
    dataKeyCache = {
      maxAgeMs: int(d['maxAgeMs'], 'dataKeyCache.maxAgeMs') ?? fail('dataKeyCache.maxAgeMs', 'required'),
      maxUses: int(d['maxUses'], 'dataKeyCache.maxUses') ?? fail('dataKeyCache.maxUses', 'required'),
      maxBytes: int(d['maxBytes'], 'dataKeyCache.maxBytes') ?? fail('dataKeyCache.maxBytes', 'required'),
    };
  }
  let secrets: EnclaveAppConfig['secrets'];
  if (root['secrets'] !== undefined) {
    const s = obj(root['secrets'], 'secrets', ['dir', 'items']);
    if (!Array.isArray(s['items'])) fail('secrets.items', 'expected a list');
    const names = new Set<string>();
    const items = (s['items'] as unknown[]).map((item, i) => {
      const it = obj(item, `secrets.items[${i}]`, ['name', 'envelope', 'keyId', 'encryptionContext']);
      const keyId = str(it['keyId'], `secrets.items[${i}].keyId`);
      if (!isKeyArn(keyId) && !(allowedKeys && Object.hasOwn(allowedKeys, keyId))) {
        fail(`secrets.items[${i}].keyId`, 'the key the envelope must be sealed under: a full key ARN, or a name in kms.allowedKeys');
      }
      const name = str(it['name'], `secrets.items[${i}].name`);
      if (!isSecretName(name)) fail(`secrets.items[${i}].name`, 'a file name of letters, digits, ".", "_" and "-"');
      if (names.has(name)) fail(`secrets.items[${i}].name`, `${name} is used twice`);
      names.add(name);
      const ec = it['encryptionContext'];
      if (ec !== undefined && (ec === null || typeof ec !== 'object' || Object.values(ec).some((x) => typeof x !== 'string')))
        fail(`secrets.items[${i}].encryptionContext`, 'a map of strings');
      return { name, envelope: str(it['envelope'], `secrets.items[${i}].envelope`), keyId, ...(ec ? { encryptionContext: ec as Record<string, string> } : {}) };
    });
    secrets = { dir: str(s['dir'], 'secrets.dir'), items };
  }
  let gateway: EnclaveAppConfig['gateway'];
  if (root['gateway'] !== undefined) {
    const g = obj(root['gateway'], 'gateway', ['listen', 'allowedUids', 'maxConcurrentRequests']);
    const listen = addr(g['listen'], 'gateway.listen');
    // Plaintext keys leave through the gateway: it must never be reachable from outside the enclave.
    if (listen.kind === 'vsock' || (listen.kind === 'tcp' && !isLoopbackHost(listen.host))) {
      fail('gateway.listen', 'the gateway hands out plaintext keys: it listens on loopback TCP or a Unix socket only');
    }
    let allowedUids: number[] | undefined;
    if (g['allowedUids'] !== undefined) {
      if (listen.kind !== 'unix') fail('gateway.allowedUids', 'callers can be told apart by uid on a Unix socket only');
      const list = g['allowedUids'];
      if (!Array.isArray(list) || list.length === 0 || list.some((u) => !Number.isSafeInteger(u) || u < 0))
        fail('gateway.allowedUids', 'a non-empty list of user ids');
      allowedUids = list as number[];
    }
    const maxConcurrentRequests = int(g['maxConcurrentRequests'], 'gateway.maxConcurrentRequests');
    gateway = { listen, ...(allowedUids ? { allowedUids } : {}), ...(maxConcurrentRequests ? { maxConcurrentRequests } : {}) };
  }
  let run: EnclaveAppConfig['run'];
  if (root['run'] !== undefined) {
    const r = obj(root['run'], 'run', ['command', 'passEnv', 'env']);
    const command = r['command'];
    if (command !== undefined && (!Array.isArray(command) || command.length === 0 || command.some((c) => typeof c !== 'string' || c.length === 0)))
      fail('run.command', 'a non-empty list of strings: the program, then its arguments (no shell)');
    const passEnv = r['passEnv'];
    const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
    if (passEnv !== undefined && (!Array.isArray(passEnv) || passEnv.some((n) => typeof n !== 'string' || !ENV_NAME.test(n))))
      fail('run.passEnv', 'a list of environment variable names');
    const env = r['env'];
    if (
      env !== undefined &&
      (env === null || typeof env !== 'object' || Array.isArray(env) || Object.entries(env).some(([k, v]) => !ENV_NAME.test(k) || typeof v !== 'string'))
    )
      fail('run.env', 'an object of environment variable names to string values');
    run = {
      ...(command !== undefined ? { command: command as string[] } : {}),
      ...(passEnv !== undefined ? { passEnv: passEnv as string[] } : {}),
      ...(env !== undefined ? { env: env as Record<string, string> } : {}),
    };
  }
  return {
    region,
    kms,
    credentials,
    ...(run ? { run } : {}),
    ...(keys ? { keys } : {}),
    ...(dataKeyCache ? { dataKeyCache } : {}),
    ...(secrets ? { secrets } : {}),
    ...(gateway ? { gateway } : {}),
  };
}
