import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { formatAddress, listenOn, type TransportListener, unixPeerCredentials, VsockSocket } from '@nitro-datakey/native/transport';
import { lookup } from 'node:dns/promises';
import { isIP, Socket } from 'node:net';
import { type Logger, silentLogger, stopHttpServer } from '@nitro-datakey/shared/cli';
import { formatUpstream, type ProxyConfig, type RouteConfig } from './config.js';
import { CredentialsService, type CredentialProvider } from './credentials.js';
import { forward, type ForwardResult } from './forward.js';
import { Metrics, serveMetrics } from './metrics.js';

export interface ProxyOptions {
  readonly log?: Logger;
  /** Where credentials come from. Default: the AWS SDK's default provider chain of the instance. */
  readonly credentialProvider?: CredentialProvider;
}

export interface RunningProxy {
  /** Bound addresses (port 0 resolved), in config order. */
  readonly routes: readonly { readonly listen: string; readonly upstream: string }[];
  readonly credentials?: string;
  readonly metrics?: string;
  readonly metricsRegistry: Metrics;
  /** Stops accepting, lets open connections finish for the grace period, then closes the rest. */
  close(): Promise<void>;
}

interface Tracked {
  readonly route: string;
  readonly abort: () => void;
  readonly done: Promise<ForwardResult>;
}

/**
 * The parent-instance proxy: each route listens (vsock in production, TCP or Unix in tests) and
 * forwards bytes untouched to one allowlisted upstream. It never sees plaintext: TLS to KMS ends
 * in the enclave.
 */
export async function startProxy(config: ProxyConfig, options: ProxyOptions = {}): Promise<RunningProxy> {
  const log = options.log ?? silentLogger;
  const metrics = new Metrics();
  const active = new Map<number, Tracked>();
  const perRoute = new Map<string, number>();
  let nextId = 1;
  let closing = false;
  const listeners: TransportListener[] = [];
  let metricsServer: Server | undefined;
  /** Credential connections open now: each closes itself within seconds, and at the end of a shutdown's grace. */
  const credentialSockets = new Set<Duplex>();

  const onConnection = (route: RouteConfig, name: string) => (socket: Duplex) => {
    const id = nextId++;
    const count = perRoute.get(name) ?? 0;
    const refuse = closing
      ? 'shutting-down'
      : count >= route.maxConnections
        ? 'route-limit'
        : active.size >= config.limits.maxConnections
          ? 'global-limit'
          : undefined;
    if (refuse) {
      // Refused cleanly: closed before a byte is read or an upstream is dialled.
      socket.on('error', () => undefined);
      socket.destroy();
      metrics.inc('nitro_proxy_connections_refused_total', 'Connections closed at once because of a limit or shutdown.', { route: name, reason: refuse });
      log('warn', 'connection refused', { id, route: name, reason: refuse });
      return;
    }
    perRoute.set(name, count + 1);
    metrics.inc('nitro_proxy_connections_total', 'Connections accepted.', { route: name });
    metrics.set('nitro_proxy_connections_active', 'Connections open now.', { route: name }, count + 1);
    const started = Date.now();
    const { done, abort } = forward(socket, route.upstream, config.limits);
    active.set(id, { route: name, abort, done });
    void done.then((result) => {
      active.delete(id);
      const left = (perRoute.get(name) ?? 1) - 1;
      perRoute.set(name, left);
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
  };

  const close = async (): Promise<void> => {
    if (closing) return;
    closing = true;
    await Promise.all(listeners.map((l) => l.close().catch(() => undefined)));
    log('info', 'draining', { open: active.size, graceMs: config.limits.shutdownGraceMs });
    // The metrics listener gets the same grace: a scrape in flight finishes, a half-sent request is cut.
    const metricsStopped = metricsServer ? stopHttpServer(metricsServer, config.limits.shutdownGraceMs) : Promise.resolve();
    const drained = Promise.all([...[...active.values()].map((t) => t.done), ...[...credentialSockets].map(closedPromise)]);
    const grace = new Promise((r) => setTimeout(r, config.limits.shutdownGraceMs).unref());
    await Promise.race([drained, grace]);
    for (const t of active.values()) t.abort();
    for (const s of credentialSockets) s.destroy();
    await Promise.all([...active.values()].map((t) => t.done));
    await metricsStopped;
    log('info', 'stopped', {});
  };

  try {
    const routes: { listen: string; upstream: string }[] = [];
    for (const route of config.routes) {
      // Logs and metrics name a route by its bound address (port 0 resolved), as the ready line does.
      const named = { name: formatAddress(route.listen) };
      const listener = await listenOn(route.listen, (socket) => onConnection(route, named.name)(socket));
      named.name = listener.address;
      listeners.push(listener);
      routes.push({ listen: listener.address, upstream: formatUpstream(route.upstream) });
    }
    let credentials: string | undefined;
    if (config.credentials) {
      const route = config.credentials;
      const service = new CredentialsService(options.credentialProvider ?? (await defaultProvider()), log);
      let open = 0;
      const ownUid = process.getuid?.();
      const allowedUids = route.allowedUids ?? (ownUid === undefined ? [] : [ownUid]);
      // The file mode keeps other users out before they connect; the uid check is what decides.
      const unixMode = allowedUids.every((uid) => uid === ownUid) ? 0o600 : 0o666;
      const listener = await listenOn(
        route.listen,
        (socket) => {
          const peer = describePeer(socket);
          const cid = socket instanceof VsockSocket ? socket.remoteAddress.cid : undefined;
          const refuse = closing
            ? 'shutting-down'
            : route.allowedCids && !route.allowedCids.includes(cid ?? -1)
              ? 'cid-not-allowed'
              : route.listen.kind === 'unix' && !peerUidAllowed(socket, allowedUids)
                ? 'uid-not-allowed'
                : open >= route.maxConnections
                  ? 'limit'
                  : undefined;
          if (refuse) {
            socket.on('error', () => undefined);
            socket.destroy();
            metrics.inc('nitro_proxy_credentials_refused_total', 'Credential connections closed at once.', { reason: refuse });
            log('warn', 'credentials refused', { peer, reason: refuse });
            return;
          }
          open++;
          credentialSockets.add(socket);
          socket.once('close', () => {
            open--;
            credentialSockets.delete(socket);
          });
          metrics.inc('nitro_proxy_credentials_requests_total', 'Credential requests served.');
          void service.serve(socket, peer);
        },
        { unixMode },
      );
      listeners.push(listener);
      credentials = listener.address;
    }
    let metricsAddress: string | undefined;
    if (config.metrics && config.metrics.listen.kind === 'tcp') {
      const served = await serveMetrics(metrics, config.metrics.listen.host, config.metrics.listen.port);
      metricsServer = served.server;
      metricsAddress = formatAddress({ kind: 'tcp', host: config.metrics.listen.host, port: served.port });
    }
    await checkUpstreamNames(config, log);
    return { routes, ...(credentials ? { credentials } : {}), ...(metricsAddress ? { metrics: metricsAddress } : {}), metricsRegistry: metrics, close };
  } catch (e) {
    await close();
    throw e;
  }
}

/** Whether the process at the other end of a Unix socket runs as one of `uids` (the kernel's word, SO_PEERCRED). */
function peerUidAllowed(socket: Duplex, uids: readonly number[]): boolean {
  const peer = socket instanceof Socket ? unixPeerCredentials(socket) : undefined;
  return peer !== undefined && uids.includes(peer.uid);
}

/** Resolves when `socket` has closed. */
function closedPromise(socket: Duplex): Promise<void> {
  return socket.destroyed ? Promise.resolve() : new Promise((resolve) => socket.once('close', () => resolve()));
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
