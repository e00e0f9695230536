import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { formatAddress, listenOn, type TransportListener, unixPeerCredentials, VsockSocket } from '@nitro-datakey/native/transport';
import { lookup } from 'node:dns/promises';
import { createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { isIP, Socket } from 'node:net';
import { type Logger, silentLogger, stopHttpServer } from '@nitro-datakey/shared/cli';
import { formatUpstream, type ProxyConfig, type RouteConfig } from './config.js';
import { CredentialsService, type CredentialProvider } from './credentials.js';
import { dropConnection, firstRefusal } from './admission.js';
import { OpenConnections } from './connections.js';
import { ProxyConfigError } from './errors.js';
import { forward } from './forward.js';
import { Metrics, serveMetrics } from './metrics.js';
import { TelemetryService } from './telemetry-route.js';

export interface ProxyOptions {
  readonly log?: Logger;
  /** Where credentials come from. Default: the AWS SDK's default provider chain of the instance. */
  readonly credentialProvider?: CredentialProvider;
}

export interface RunningProxy {
  /** Bound addresses (port 0 resolved), in config order. */
  readonly routes: readonly { readonly listen: string; readonly upstream: string }[];
  readonly credentials?: string;
  readonly secrets?: string;
  readonly telemetry?: string;
  readonly metrics?: string;
  readonly metricsRegistry: Metrics;
  /** Stops accepting, lets open connections finish for the grace period, then closes the rest. */
  close(): Promise<void>;
}

/** What every listener of one proxy shares. */
interface ProxyRuntime {
  readonly config: ProxyConfig;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly open: OpenConnections;
  closing: boolean;
}

/**
 * The parent-instance proxy: each route listens (vsock in production, TCP or Unix in tests) and
 * forwards bytes untouched to one allowlisted upstream. It never sees plaintext: TLS to KMS ends
 * in the enclave.
 */
export async function startProxy(config: ProxyConfig, options: ProxyOptions = {}): Promise<RunningProxy> {
  const runtime: ProxyRuntime = { config, log: options.log ?? silentLogger, metrics: new Metrics(), open: new OpenConnections(), closing: false };
  const listeners: TransportListener[] = [];
  let metricsServer: Server | undefined;

  const close = async (): Promise<void> => {
    if (runtime.closing) return;
    runtime.closing = true;
    await Promise.all(listeners.map((l) => l.close().catch(() => undefined)));
    runtime.log('info', 'draining', { open: runtime.open.size, graceMs: config.limits.shutdownGraceMs });
    // The metrics listener gets the same grace: a scrape in flight finishes, a half-sent request is cut.
    const metricsStopped = metricsServer ? stopHttpServer(metricsServer, config.limits.shutdownGraceMs) : Promise.resolve();
    await runtime.open.drain(config.limits.shutdownGraceMs);
    await metricsStopped;
    runtime.log('info', 'stopped', {});
  };

  try {
    const routes: { listen: string; upstream: string }[] = [];
    for (const route of config.routes) {
      // Logs and metrics name a route by its bound address (port 0 resolved), as the ready line does.
      const named = { name: formatAddress(route.listen) };
      const listener = await listenOn(route.listen, (socket) => acceptForwarding(runtime, route, named.name, socket));
      named.name = listener.address;
      listeners.push(listener);
      routes.push({ listen: listener.address, upstream: formatUpstream(route.upstream) });
    }
    let credentials: string | undefined;
    if (config.credentials) {
      const service = new CredentialsService(options.credentialProvider ?? (await defaultProvider()), runtime.log);
      const listener = await listenEnclaveRoute(runtime, 'credentials', config.credentials, async (socket, peer) => {
        await service.serve(socket, peer);
        return undefined;
      });
      listeners.push(listener);
      credentials = listener.address;
    }
    let secrets: string | undefined;
    if (config.secrets) {
      await requireDirectory(config.secrets.dir);
      // Loaded only when a secrets route exists: a proxy without one never reads the envelope format.
      const { SecretsService } = await import('./secrets-route.js');
      const service = new SecretsService(config.secrets.dir, runtime.log);
      const listener = await listenEnclaveRoute(runtime, 'secrets', config.secrets, (socket, peer) => service.serve(socket, peer));
      listeners.push(listener);
      secrets = listener.address;
    }
    let telemetryAddress: string | undefined;
    let telemetry: TelemetryService | undefined;
    if (config.telemetry) {
      const sink = config.telemetry.output === 'stdout' ? process.stdout : createWriteStream(config.telemetry.output, { flags: 'a', mode: 0o600 });
      const service = new TelemetryService(runtime.metrics, runtime.log, {
        sink,
        maxLinesPerSecond: config.telemetry.maxLinesPerSecond,
        heartbeatTimeoutMs: config.telemetry.heartbeatTimeoutMs,
      });
      telemetry = service;
      const listener = await listenEnclaveRoute(runtime, 'telemetry', config.telemetry, (socket, peer) => {
        service.serve(socket, peer);
        return new Promise<undefined>((resolve) => socket.once('close', () => resolve(undefined)));
      });
      listeners.push(listener);
      telemetryAddress = listener.address;
    }
    let metricsAddress: string | undefined;
    if (config.metrics && config.metrics.listen.kind === 'tcp') {
      const served = await serveMetrics(runtime.metrics, config.metrics.listen.host, config.metrics.listen.port, telemetry);
      metricsServer = served.server;
      metricsAddress = formatAddress({ kind: 'tcp', host: config.metrics.listen.host, port: served.port });
    }
    await checkUpstreamNames(config, runtime.log);
    return {
      routes,
      ...(credentials ? { credentials } : {}),
      ...(secrets ? { secrets } : {}),
      ...(telemetryAddress ? { telemetry: telemetryAddress } : {}),
      ...(metricsAddress ? { metrics: metricsAddress } : {}),
      metricsRegistry: runtime.metrics,
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}

/** One connection on a route: admitted within the limits, forwarded, counted and logged when it ends. */
function acceptForwarding({ config, log, metrics, open, closing }: ProxyRuntime, route: RouteConfig, name: string, socket: Duplex): void {
  const refuse = firstRefusal([
    ['shutting-down', () => closing],
    ['route-limit', () => open.onRoute(name) >= route.maxConnections],
    ['global-limit', () => open.size >= config.limits.maxConnections],
  ]);
  if (refuse) {
    dropConnection(socket);
    metrics.inc('nitro_proxy_connections_refused_total', 'Connections closed at once because of a limit or shutdown.', { route: name, reason: refuse });
    log('warn', 'connection refused', { route: name, reason: refuse });
    return;
  }
  const started = Date.now();
  const { done, abort } = forward(socket, route.upstream, config.limits);
  const { id, onRoute } = open.addForwarding(name, { abort, done });
  metrics.inc('nitro_proxy_connections_total', 'Connections accepted.', { route: name });
  metrics.set('nitro_proxy_connections_active', 'Connections open now.', { route: name }, onRoute);
  void done.then((result) => {
    const left = open.removeForwarding(id, name);
    metrics.set('nitro_proxy_connections_active', 'Connections open now.', { route: name }, left);
    metrics.inc('nitro_proxy_bytes_total', 'Bytes forwarded.', { route: name, direction: 'up' }, result.bytesUp);
    metrics.inc('nitro_proxy_bytes_total', 'Bytes forwarded.', { route: name, direction: 'down' }, result.bytesDown);
    if (result.reason === 'upstream-connect-failed')
      metrics.inc('nitro_proxy_upstream_failures_total', 'Upstream connections that failed or timed out.', { route: name });
    log(result.reason === 'done' ? 'info' : 'warn', 'connection closed', {
      id,
      route: name,
      upstream: formatUpstream(route.upstream),
      bytesUp: result.bytesUp,
      bytesDown: result.bytesDown,
      durationMs: Date.now() - started,
      reason: result.reason,
      ...(result.error ? { error: result.error } : {}),
    });
  });
}

/** How one of the enclave's service routes answers a connection it admitted; `outcome` labels its metric. */
type ServeConnection = (socket: Duplex, peer: string) => Promise<string | undefined>;

/**
 * A service route of the enclave's (credentials, secrets): only the allowed enclave CIDs or local uids,
 * within its own connection limit; one answer per connection.
 */
async function listenEnclaveRoute(
  runtime: ProxyRuntime,
  service: 'credentials' | 'secrets' | 'telemetry',
  route: NonNullable<ProxyConfig['credentials'] | ProxyConfig['secrets'] | ProxyConfig['telemetry']>,
  serve: ServeConnection,
): Promise<TransportListener> {
  const { log, metrics, open } = runtime;
  const ownUid = process.getuid?.();
  const allowedUids = route.allowedUids ?? (ownUid === undefined ? [] : [ownUid]);
  // The file mode keeps other users out before they connect; the uid check is what decides.
  const unixMode = allowedUids.every((uid) => uid === ownUid) ? 0o600 : 0o666;
  const refusedHelp = `${service} connections closed at once.`;
  return listenOn(
    route.listen,
    (socket) => {
      const peer = describePeer(socket);
      const refuse = firstRefusal([
        ['shutting-down', () => runtime.closing],
        ['cid-not-allowed', () => route.allowedCids !== undefined && !route.allowedCids.includes(vsockPeerCid(socket) ?? -1)],
        ['uid-not-allowed', () => route.listen.kind === 'unix' && !peerUidAllowed(socket, allowedUids)],
        ['limit', () => open.onService(service) >= route.maxConnections],
      ]);
      if (refuse) {
        dropConnection(socket);
        metrics.inc(`nitro_proxy_${service}_refused_total`, refusedHelp, { reason: refuse });
        log('warn', `${service} refused`, { peer, reason: refuse });
        return;
      }
      open.addService(service, socket);
      void serve(socket, peer).then((outcome) => {
        const labels = outcome === undefined ? {} : { outcome };
        metrics.inc(`nitro_proxy_${service}_requests_total`, `${service} connections served.`, labels);
      });
    },
    { unixMode },
  );
}

const vsockPeerCid = (socket: Duplex): number | undefined => (socket instanceof VsockSocket ? socket.remoteAddress.cid : undefined);

/** Whether the process at the other end of a Unix socket runs as one of `uids` (the kernel's word, SO_PEERCRED). */
function peerUidAllowed(socket: Duplex, uids: readonly number[]): boolean {
  const peer = socket instanceof Socket ? unixPeerCredentials(socket) : undefined;
  return peer !== undefined && uids.includes(peer.uid);
}

/** The instance's default credential chain (environment, IMDS role, ...), loaded only when a credentials route exists. */
async function defaultProvider(): Promise<CredentialProvider> {
  const { fromNodeProviderChain } = await import('@aws-sdk/credential-providers');
  const chain = fromNodeProviderChain();
  return async () => {
    const c = await chain();
    return {
      accessKeyId: c.accessKeyId,
      secretAccessKey: c.secretAccessKey,
      ...(c.sessionToken ? { sessionToken: c.sessionToken } : {}),
      ...(c.expiration ? { expiration: c.expiration } : {}),
    };
  };
}

/** Who is on the other end, for logs: vsock CID and port, a TCP address, or a Unix peer's pid and uid. */
function describePeer(socket: Duplex): string {
  if (socket instanceof VsockSocket) return `vsock:${socket.remoteAddress.cid}:${socket.remoteAddress.port}`;
  if (socket instanceof Socket) {
    if (socket.remoteAddress) return `tcp:${socket.remoteAddress}:${socket.remotePort ?? 0}`;
    const peer = unixPeerCredentials(socket);
    return peer ? `unix:pid=${peer.pid},uid=${peer.uid}` : 'unix';
  }
  return 'unknown';
}

/**
 * Looks up every upstream name once at start and says which does not resolve: a typo or a missing
 * VPC endpoint shows in the log at boot, not as the first failed call. A warning, not a refusal: DNS may
 * come up after the proxy, and every connection resolves again anyway.
 */
async function checkUpstreamNames(config: ProxyConfig, log: Logger): Promise<void> {
  const hosts = [...new Set(config.routes.map((r) => r.upstream.host))].filter((h) => isIP(h) === 0);
  await Promise.all(
    hosts.map(async (host) => {
      const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(Object.assign(new Error('timed out'), { code: 'ETIMEOUT' })), 2_000).unref());
      try {
        await Promise.race([lookup(host), timeout]);
      } catch (e) {
        log('warn', 'upstream does not resolve', { upstream: host, error: (e as NodeJS.ErrnoException).code ?? (e as Error).message });
      }
    }),
  );
}

/** The secrets directory must be there at start: a typo shows at boot, not as the enclave's failed start. */
async function requireDirectory(dir: string): Promise<void> {
  const st = await stat(dir).catch((e: NodeJS.ErrnoException) => e);
  if (st instanceof Error) throw new ProxyConfigError(`secrets.dir ${dir}: cannot read it (${st.code ?? st.message})`);
  if (!st.isDirectory()) throw new ProxyConfigError(`secrets.dir ${dir} is not a directory`);
}
