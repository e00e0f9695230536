import { readFile } from 'node:fs/promises';
import { isIPv6 } from 'node:net';
import { createRequire } from 'node:module';
import type { Document, Node } from 'yaml';
import { isLoopbackHost, parseAddress, type TransportAddress } from '@nitro-datakey/native/transport';
import { type ConfigLocator, type ConfigPath, configSchema, plainLocator, readConfig } from '@nitro-datakey/shared/cli';
import { ProxyConfigError } from './errors.js';

export interface Upstream {
  readonly host: string;
  readonly port: number;
}

export interface RouteConfig {
  readonly listen: TransportAddress;
  readonly upstream: Upstream;
  /** Concurrent connections on this route. */
  readonly maxConnections: number;
}

/** A route only the enclave (vsock) or this host may reach: credentials, secrets, telemetry. */
interface EnclaveRouteConfig {
  /** vsock (production), a Unix socket, or loopback TCP (tests): never a network address. */
  readonly listen: TransportAddress;
  /** vsock only: the enclave CIDs that may ask (default: any). */
  readonly allowedCids?: readonly number[];
  /**
   * Unix socket only: the user ids whose processes may ask, as the kernel reports the peer
   * (default: the proxy's own uid). The socket file is 0600, or 0666 when other uids are listed.
   */
  readonly allowedUids?: readonly number[];
  /** Concurrent connections on this route, apart from the KMS routes' limits. */
  readonly maxConnections: number;
}

export interface ProxyConfig {
  readonly region: string;
  /** Whether the region's FIPS endpoint (kms-fips.REGION.amazonaws.com:443) is on the default allowlist. */
  readonly fips: boolean;
  readonly routes: readonly RouteConfig[];
  /** Every upstream a route may name: the region's KMS endpoint, plus what the operator adds. */
  readonly allow: readonly string[];
  readonly credentials?: EnclaveRouteConfig;
  /**
   * The secrets route: the envelopes of a directory (NAME.json) served to the enclave by name, read-only.
   * Reached and limited as the credentials route is.
   */
  readonly secrets?: EnclaveRouteConfig & { readonly dir: string };
  /**
   * The telemetry route: the enclave's output and log records written out as JSON lines, its heartbeat
   * behind /healthz, its metrics on the Prometheus endpoint, attestation requests passed down.
   */
  readonly telemetry?: EnclaveRouteConfig & {
    /** `stdout` (the default: journald takes it from there) or a file appended to (0600). */
    readonly output: string;
    readonly maxLinesPerSecond: number;
    readonly heartbeatTimeoutMs: number;
  };
  readonly metrics?: { readonly listen: TransportAddress };
  readonly limits: {
    /** Concurrent connections over all routes. */
    readonly maxConnections: number;
    readonly connectTimeoutMs: number;
    readonly idleTimeoutMs: number;
    /** How long a graceful shutdown waits for open connections to finish. */
    readonly shutdownGraceMs: number;
  };
}

export const DEFAULT_LIMITS: ProxyConfig['limits'] = { maxConnections: 4096, connectTimeoutMs: 5_000, idleTimeoutMs: 300_000, shutdownGraceMs: 10_000 };
const DEFAULT_ROUTE_MAX_CONNECTIONS = 1024;

/** The one upstream every proxy may reach unless told more: KMS in its region, on 443. */
export function defaultAllowlist(region: string, options: { fips?: boolean } = {}): string[] {
  // The FIPS endpoint only when asked for, as AWS's own vsock-proxy allowlist does.
  return [`kms.${region}.amazonaws.com:443`, ...(options.fips ? [`kms-fips.${region}.amazonaws.com:443`] : [])];
}

const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;
const c = configSchema;

const address = c.then(c.text(), (text, fail): TransportAddress => {
  try {
    return parseAddress(text);
  } catch (e) {
    return fail((e as Error).message);
  }
});
const upstreamAddress = c.then(c.text(), (text, fail) => parseUpstream(text) ?? fail(`${JSON.stringify(text)} is not HOST:PORT`));

/** A route only the enclave (vsock) or this host may reach, callers told apart by CID or uid: credentials, secrets. */
const enclaveRouteFields = {
  listen: address,
  allowedCids: c.optional(c.list(c.integer(3, 0xfffffffe), { nonEmpty: true, expected: 'at least one CID' })),
  allowedUids: c.optional(c.list(c.integer(0, 0xfffffffe), { nonEmpty: true, expected: 'at least one user id' })),
  maxConnections: c.withDefault(c.integer(1, 1024), 16),
};

interface EnclaveRouteShape {
  readonly listen: TransportAddress;
  readonly allowedCids?: readonly number[] | undefined;
  readonly allowedUids?: readonly number[] | undefined;
}

function enclaveRouteCheck(what: string) {
  return <R extends EnclaveRouteShape>(route: R, fail: (message: string, member?: ConfigPath) => never): R => {
    const { listen } = route;
    if (listen.kind === 'tcp' && !isLoopbackHost(listen.host)) fail(`${what}: it listens on vsock, a Unix socket or loopback TCP only`, ['listen']);
    if (route.allowedCids !== undefined && listen.kind !== 'vsock') fail('CIDs identify callers on vsock only', ['allowedCids']);
    if (route.allowedUids !== undefined && listen.kind !== 'unix') fail('user ids identify callers on a Unix socket only', ['allowedUids']);
    return route;
  };
}

const credentialsSchema = c.then(c.object(enclaveRouteFields), enclaveRouteCheck("the credentials route hands out the role's secret key"));
const telemetrySchema = c.then(
  c.object({
    ...enclaveRouteFields,
    maxConnections: c.withDefault(c.integer(1, 64), 4),
    output: c.withDefault(c.text(), 'stdout'),
    maxLinesPerSecond: c.withDefault(c.integer(1, 1_000_000), 1000),
    heartbeatTimeoutMs: c.withDefault(c.integer(1000, 3_600_000), 30_000),
  }),
  enclaveRouteCheck("the telemetry route takes the enclave's logs and answers for its health"),
);
const secretsSchema = c.then(c.object({ ...enclaveRouteFields, dir: c.text() }), enclaveRouteCheck('the secrets route serves the enclave its envelopes'));

const metricsSchema = c.then(c.object({ listen: address }), (metrics, fail) => {
  // Metrics reveal traffic patterns: loopback only.
  if (metrics.listen.kind !== 'tcp' || !isLoopbackHost(metrics.listen.host))
    fail('metrics must listen on a loopback TCP address (tcp:127.0.0.1:PORT or tcp:[::1]:PORT)', ['listen']);
  return metrics;
});

const proxyConfigSchema = c.object({
  region: c.withDefault(
    c.text((region) => (REGION.test(region) ? undefined : `region ${JSON.stringify(region)} is not an AWS region name`)),
    'us-east-1',
  ),
  fips: c.withDefault(c.boolean, false),
  routes: c.required(
    c.list(c.object({ listen: address, upstream: upstreamAddress, maxConnections: c.optional(c.integer(1, 1_000_000)) }), {
      nonEmpty: true,
      expected: 'at least one route is required',
    }),
    'at least one route is required',
  ),
  allow: c.withDefault(c.list(upstreamAddress), []),
  credentials: c.optional(credentialsSchema),
  secrets: c.optional(secretsSchema),
  telemetry: c.optional(telemetrySchema),
  metrics: c.optional(metricsSchema),
  limits: c.withDefault(
    c.object({
      maxConnections: c.withDefault(c.integer(1, 1_000_000), DEFAULT_LIMITS.maxConnections),
      connectTimeoutMs: c.withDefault(c.integer(1, 600_000), DEFAULT_LIMITS.connectTimeoutMs),
      idleTimeoutMs: c.withDefault(c.integer(1, 86_400_000), DEFAULT_LIMITS.idleTimeoutMs),
      shutdownGraceMs: c.withDefault(c.integer(0, 600_000), DEFAULT_LIMITS.shutdownGraceMs),
    }),
    DEFAULT_LIMITS,
  ),
});

export async function loadConfigFile(path: string): Promise<ProxyConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new ProxyConfigError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  return parseConfigText(text, path);
}

/** Parses YAML or JSON (JSON is YAML) and validates it. Unknown keys are errors, not ignored. */
/**
 * The YAML parser, loaded on the first config file: a proxy started with flags alone never pays for
 * it (about a sixth of its start-up on a small instance).
 */
let yamlModule: typeof import('yaml') | undefined;
function yaml(): typeof import('yaml') {
  yamlModule ??= createRequire(import.meta.url)('yaml') as typeof import('yaml');
  return yamlModule;
}

export function parseConfigText(text: string, source: string): ProxyConfig {
  const { LineCounter, parseDocument, isMap } = yaml();
  const lines = new LineCounter();
  const doc: Document = parseDocument(text, { lineCounter: lines, prettyErrors: true, uniqueKeys: true });
  const first = doc.errors[0];
  if (first) {
    const at = first.linePos?.[0];
    throw new ProxyConfigError(`${source}${at ? `:${at.line}:${at.col}` : ''}: ${first.message.split('\n')[0]}`);
  }
  const locate = (path: ConfigPath): string => {
    const node = (path.length === 0 ? doc.contents : doc.getIn(path, true)) as Node | undefined;
    const offset = node?.range?.[0];
    const where = path.length
      ? ` at ${path
          .map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`))
          .join('')
          .slice(1)
          .replace(/^\[/, '[')}`
      : '';
    return `${source}${offset === undefined ? '' : `:${lines.linePos(offset).line}`}${where}`;
  };
  // Unknown keys need their own node's line, which doc.getIn on the parent cannot give.
  const keyLine = (path: ConfigPath): string => {
    const parentPath = path.slice(0, -1);
    const key = path.at(-1);
    const parent = (parentPath.length ? doc.getIn(parentPath, true) : doc.contents) as Node | undefined;
    if (isMap(parent)) {
      const pair = parent.items.find((p) => (p.key as { value?: unknown } | null)?.value === key);
      const offset = (pair?.key as Node | undefined)?.range?.[0];
      if (offset !== undefined) return `${source}:${lines.linePos(offset).line}`;
    }
    return source;
  };
  return validateConfig(doc.toJS() as unknown, { value: locate, key: keyLine });
}

/** Builds and validates a config from plain values (flags), with messages naming the flag. */
export function configFromValues(value: unknown, source = 'flags'): ProxyConfig {
  return validateConfig(value, plainLocator(source));
}

/** The schema, then what no single member can check: the allowlist, and each listen address used once. */
function validateConfig(raw: unknown, locator: ConfigLocator): ProxyConfig {
  const read = readConfig(proxyConfigSchema, raw, locator, (message) => new ProxyConfigError(message));
  const fail = (path: ConfigPath, message: string): never => {
    throw new ProxyConfigError(`${locator.value(path)}: ${message}`);
  };
  const allow = [...defaultAllowlist(read.region, { fips: read.fips }), ...read.allow.map(formatUpstream)];
  const routes = read.routes.map((route, i): RouteConfig => {
    if (!allow.includes(formatUpstream(route.upstream))) {
      fail(
        ['routes', i, 'upstream'],
        `upstream ${formatUpstream(route.upstream)} is not on the allowlist (${allow.join(', ')}); add it under "allow" (or --allow) if it is really meant`,
      );
    }
    return { ...route, maxConnections: route.maxConnections ?? Math.min(DEFAULT_ROUTE_MAX_CONNECTIONS, read.limits.maxConnections) };
  });
  const listens = new Set<string>();
  const claim = (a: TransportAddress, path: ConfigPath) => {
    if (a.kind !== 'unix' && (a.port === 0 || (a.kind === 'vsock' && a.port === 0xffffffff))) return; // "any free port" never collides
    const key = JSON.stringify(a);
    if (listens.has(key)) fail(path, 'this listen address is used twice');
    listens.add(key);
  };
  routes.forEach((r, i) => {
    claim(r.listen, ['routes', i, 'listen']);
  });
  if (read.credentials) claim(read.credentials.listen, ['credentials', 'listen']);
  if (read.secrets) claim(read.secrets.listen, ['secrets', 'listen']);
  if (read.telemetry) claim(read.telemetry.listen, ['telemetry', 'listen']);
  if (read.metrics) claim(read.metrics.listen, ['metrics', 'listen']);
  return {
    region: read.region,
    fips: read.fips,
    routes,
    allow,
    ...(read.credentials ? { credentials: read.credentials } : {}),
    ...(read.secrets ? { secrets: read.secrets } : {}),
    ...(read.telemetry ? { telemetry: read.telemetry } : {}),
    ...(read.metrics ? { metrics: read.metrics } : {}),
    limits: read.limits,
  };
}

export function formatUpstream(u: Upstream): string {
  return `${u.host.includes(':') ? `[${u.host}]` : u.host}:${u.port}`;
}

/** `HOST:PORT` (an IPv6 host in brackets), or undefined. */
function parseUpstream(text: string): Upstream | undefined {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(text);
  const port = Number(m?.[2]);
  if (!m || port < 1 || port > 65535) return undefined;
  const host = (m[1] as string).replace(/^\[(.*)\]$/, '$1');
  if (host.startsWith('[') || (host.includes(':') && !isIPv6(host))) return undefined;
  return { host: host.toLowerCase(), port };
}
