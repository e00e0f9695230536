import { readFile } from 'node:fs/promises';
import { isIPv6 } from 'node:net';
import { createRequire } from 'node:module';
import type { Document, Node } from 'yaml';
import { isLoopbackHost, parseAddress, type TransportAddress } from '@nitro-datakey/native/transport';
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

export interface ProxyConfig {
  readonly region: string;
  /** Whether the region's FIPS endpoint (kms-fips.REGION.amazonaws.com:443) is on the default allowlist. */
  readonly fips: boolean;
  readonly routes: readonly RouteConfig[];
  /** Every upstream a route may name: the region's KMS endpoint, plus what the operator adds. */
  readonly allow: readonly string[];
  readonly credentials?: {
    /** vsock (production), a Unix socket, or loopback TCP (tests): never a network address. */
    readonly listen: TransportAddress;
    /** vsock only: the enclave CIDs that may ask (default: any). */
    readonly allowedCids?: readonly number[];
    /**
     * Unix socket only: the user ids whose processes may ask, as the kernel reports the peer
     * (default: the proxy's own uid). The socket file is 0600, or 0666 when other uids are listed.
     */
    readonly allowedUids?: readonly number[];
    /** Concurrent credential connections (default 16), apart from the routes' limits. */
    readonly maxConnections: number;
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

const TOP_KEYS = ['region', 'fips', 'routes', 'allow', 'credentials', 'metrics', 'limits'] as const;
const ROUTE_KEYS = ['listen', 'upstream', 'maxConnections'] as const;
const LIMIT_KEYS = ['maxConnections', 'connectTimeoutMs', 'idleTimeoutMs', 'shutdownGraceMs'] as const;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;

/** Where a value came from, for messages: a path of keys, and a line when read from a file. */
type Locate = (path: readonly (string | number)[]) => string;

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
  const locate: Locate = (path) => {
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
  const keyLine = (parentPath: readonly (string | number)[], key: string): string => {
    const parent = (parentPath.length ? doc.getIn(parentPath, true) : doc.contents) as Node | undefined;
    if (isMap(parent)) {
      const pair = parent.items.find((p) => (p.key as { value?: unknown } | null)?.value === key);
      const offset = (pair?.key as Node | undefined)?.range?.[0];
      if (offset !== undefined) return `${source}:${lines.linePos(offset).line}`;
    }
    return source;
  };
  return validateConfig(doc.toJS() as unknown, locate, keyLine);
}

/** Builds and validates a config from plain values (flags), with messages naming the flag. */
export function configFromValues(value: unknown, source = 'flags'): ProxyConfig {
  return validateConfig(
    value,
    (path) => `${source}${path.length ? ` at ${path.join('.')}` : ''}`,
    () => source,
  );
}

function validateConfig(raw: unknown, at: Locate, keyLine: (parent: readonly (string | number)[], key: string) => string): ProxyConfig {
  const root = object(raw, [], at);
  unknownKeys(root, TOP_KEYS, [], keyLine);
  const region = root['region'] === undefined ? 'us-east-1' : string(root['region'], ['region'], at);
  if (!REGION.test(region)) fail(at(['region']), `region ${JSON.stringify(region)} is not an AWS region name`);

  if (root['fips'] !== undefined && typeof root['fips'] !== 'boolean') fail(at(['fips']), 'expected true or false');
  const fips = root['fips'] === true;
  const allow = [...defaultAllowlist(region, { fips })];
  if (root['allow'] !== undefined) {
    list(root['allow'], ['allow'], at).forEach((entry, i) => {
      allow.push(formatUpstream(upstream(entry, ['allow', i], at)));
    });
  }

  const limitsRaw = root['limits'] === undefined ? {} : object(root['limits'], ['limits'], at);
  unknownKeys(limitsRaw, LIMIT_KEYS, ['limits'], keyLine);
  const limits = {
    maxConnections: integer(limitsRaw['maxConnections'], ['limits', 'maxConnections'], at, DEFAULT_LIMITS.maxConnections, 1, 1_000_000),
    connectTimeoutMs: integer(limitsRaw['connectTimeoutMs'], ['limits', 'connectTimeoutMs'], at, DEFAULT_LIMITS.connectTimeoutMs, 1, 600_000),
    idleTimeoutMs: integer(limitsRaw['idleTimeoutMs'], ['limits', 'idleTimeoutMs'], at, DEFAULT_LIMITS.idleTimeoutMs, 1, 86_400_000),
    shutdownGraceMs: integer(limitsRaw['shutdownGraceMs'], ['limits', 'shutdownGraceMs'], at, DEFAULT_LIMITS.shutdownGraceMs, 0, 600_000),
  };

  if (root['routes'] === undefined) fail(at([]), 'routes: at least one route is required');
  const routes = list(root['routes'], ['routes'], at).map((r, i): RouteConfig => {
    const route = object(r, ['routes', i], at);
    unknownKeys(route, ROUTE_KEYS, ['routes', i], keyLine);
    const up = upstream(route['upstream'], ['routes', i, 'upstream'], at);
    if (!allow.includes(formatUpstream(up))) {
      fail(
        at(['routes', i, 'upstream']),
        `upstream ${formatUpstream(up)} is not on the allowlist (${allow.join(', ')}); add it under "allow" (or --allow) if it is really meant`,
      );
    }
    return {
      listen: address(route['listen'], ['routes', i, 'listen'], at),
      upstream: up,
      maxConnections: integer(
        route['maxConnections'],
        ['routes', i, 'maxConnections'],
        at,
        Math.min(DEFAULT_ROUTE_MAX_CONNECTIONS, limits.maxConnections),
        1,
        1_000_000,
      ),
    };
  });
  if (routes.length === 0) fail(at(['routes']), 'at least one route is required');

  const listens = new Set<string>();
  const claim = (a: TransportAddress, path: (string | number)[]) => {
    if (a.kind !== 'unix' && (a.port === 0 || (a.kind === 'vsock' && a.port === 0xffffffff))) return; // "any free port" never collides
    const key = JSON.stringify(a);
    if (listens.has(key)) fail(at(path), 'this listen address is used twice');
    listens.add(key);
  };
  routes.forEach((r, i) => {
    claim(r.listen, ['routes', i, 'listen']);
  });

  let credentials: ProxyConfig['credentials'];
  if (root['credentials'] !== undefined) {
    const c = object(root['credentials'], ['credentials'], at);
    unknownKeys(c, ['listen', 'allowedCids', 'allowedUids', 'maxConnections'], ['credentials'], keyLine);
    const listen = address(c['listen'], ['credentials', 'listen'], at);
    // The route hands out the role's secret key: only the enclave (vsock) or this host may reach it.
    if (listen.kind === 'tcp' && !isLoopbackHost(listen.host)) {
      fail(at(['credentials', 'listen']), "the credentials route hands out the role's secret key: it listens on vsock, a Unix socket or loopback TCP only");
    }
    let allowedCids: number[] | undefined;
    if (c['allowedCids'] !== undefined) {
      if (listen.kind !== 'vsock') fail(at(['credentials', 'allowedCids']), 'CIDs identify callers on vsock only');
      allowedCids = list(c['allowedCids'], ['credentials', 'allowedCids'], at).map((v, i) =>
        integer(v, ['credentials', 'allowedCids', i], at, 0, 3, 0xfffffffe),
      );
      if (allowedCids.length === 0) fail(at(['credentials', 'allowedCids']), 'at least one CID');
    }
    let allowedUids: number[] | undefined;
    if (c['allowedUids'] !== undefined) {
      if (listen.kind !== 'unix') fail(at(['credentials', 'allowedUids']), 'user ids identify callers on a Unix socket only');
      allowedUids = list(c['allowedUids'], ['credentials', 'allowedUids'], at).map((v, i) =>
        integer(v, ['credentials', 'allowedUids', i], at, 0, 0, 0xfffffffe),
      );
      if (allowedUids.length === 0) fail(at(['credentials', 'allowedUids']), 'at least one user id');
    }
    const maxConnections = integer(c['maxConnections'], ['credentials', 'maxConnections'], at, 16, 1, 1024);
    credentials = { listen, ...(allowedCids ? { allowedCids } : {}), ...(allowedUids ? { allowedUids } : {}), maxConnections };
    claim(credentials.listen, ['credentials', 'listen']);
  }
  let metrics: ProxyConfig['metrics'];
  if (root['metrics'] !== undefined) {
    const m = object(root['metrics'], ['metrics'], at);
    unknownKeys(m, ['listen'], ['metrics'], keyLine);
    const listen = address(m['listen'], ['metrics', 'listen'], at);
    // Metrics reveal traffic patterns: loopback only.
    if (listen.kind !== 'tcp' || !isLoopbackHost(listen.host))
      fail(at(['metrics', 'listen']), 'metrics must listen on a loopback TCP address (tcp:127.0.0.1:PORT or tcp:[::1]:PORT)');
    metrics = { listen };
    claim(listen, ['metrics', 'listen']);
  }
  return { region, fips, routes, allow, ...(credentials ? { credentials } : {}), ...(metrics ? { metrics } : {}), limits };
}

export function formatUpstream(u: Upstream): string {
  return `${u.host.includes(':') ? `[${u.host}]` : u.host}:${u.port}`;
}

function upstream(value: unknown, path: (string | number)[], at: Locate): Upstream {
  const text = string(value, path, at);
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(text);
  const port = Number(m?.[2]);
  if (!m || port < 1 || port > 65535) fail(at(path), `${JSON.stringify(text)} is not HOST:PORT`);
  const host = (m[1] as string).replace(/^\[(.*)\]$/, '$1');
  if (host.startsWith('[') || (host.includes(':') && !isIPv6(host))) fail(at(path), `${JSON.stringify(text)} has an invalid host`);
  return { host: host.toLowerCase(), port };
}

function address(value: unknown, path: (string | number)[], at: Locate): TransportAddress {
  const text = string(value, path, at);
  try {
    return parseAddress(text);
  } catch (e) {
    fail(at(path), (e as Error).message);
  }
}

function object(value: unknown, path: (string | number)[], at: Locate): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) fail(at(path), 'expected a mapping (key: value)');
  return value as Record<string, unknown>;
}

function list(value: unknown, path: (string | number)[], at: Locate): unknown[] {
  if (!Array.isArray(value)) fail(at(path), 'expected a list');
  return value;
}

function string(value: unknown, path: (string | number)[], at: Locate): string {
  if (typeof value !== 'string' || value.length === 0) fail(at(path), 'expected a non-empty string');
  return value;
}

function integer(value: unknown, path: (string | number)[], at: Locate, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) fail(at(path), `expected an integer from ${min} to ${max}`);
  return value;
}

function unknownKeys(
  obj: Record<string, unknown>,
  known: readonly string[],
  path: (string | number)[],
  keyLine: (parent: readonly (string | number)[], key: string) => string,
): void {
  for (const key of Object.keys(obj)) {
    if (!known.includes(key)) {
      const where = [...path, key]
        .map((p) => (typeof p === 'number' ? `[${p}]` : p))
        .join('.')
        .replace(/\.\[/g, '[');
      fail(keyLine(path, key), `unknown key "${where}" (known: ${known.join(', ')})`);
    }
  }
}

function fail(where: string, message: string): never {
  throw new ProxyConfigError(`${where}: ${message}`);
}
