import { connect as netConnect, createServer, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { chmod, lstat, stat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { loadNativeAddon } from './addon.js';
import { NativeLayerError } from './errors.js';
import { formatAddress, parseAddress, type TransportAddress } from './address.js';
import { connectVsock, VsockServer } from './vsock.js';

/** A connected stream on any transport. TCP and Unix sockets are Node's own; vsock is FdSocket. */
export type TransportSocket = Duplex;

/**
 * Connects to `vsock:CID:PORT`, `tcp:HOST:PORT` or `unix:PATH`. Half-open by default (a proxy needs
 * it); a request/response client passes `allowHalfOpen: false` so a peer's close closes the stream.
 */
export async function connectTo(address: string | TransportAddress, options: { timeoutMs?: number; allowHalfOpen?: boolean } = {}): Promise<TransportSocket> {
  const a = typeof address === 'string' ? parseAddress(address) : address;
  const allowHalfOpen = options.allowHalfOpen ?? true;
  if (a.kind === 'vsock') return connectVsock(a.cid, a.port, { ...options, allowHalfOpen });
  return new Promise<Socket>((resolve, reject) => {
    const socket = a.kind === 'tcp' ? netConnect({ host: a.host, port: a.port, allowHalfOpen }) : netConnect({ path: a.path, allowHalfOpen });
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            socket.destroy(Object.assign(new Error(`connect ETIMEDOUT ${formatAddress(a)}`), { code: 'ETIMEDOUT' }));
          }, options.timeoutMs);
    socket.once('connect', () => {
      if (timer) clearTimeout(timer);
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', (e) => {
      if (timer) clearTimeout(timer);
      reject(e);
    });
  });
}

/** A listening endpoint on any transport; `address` is what it actually bound (port 0 resolved). */
export interface TransportListener {
  readonly address: string;
  close(): Promise<void>;
}

/** Listens on `address` and hands every connection to `onConnection`. */
export async function listenOn(
  address: string | TransportAddress,
  onConnection: (socket: TransportSocket) => void,
  options: { readonly unixMode?: number } = {},
): Promise<TransportListener> {
  const a = typeof address === 'string' ? parseAddress(address) : address;
  if (a.kind === 'vsock') {
    const server = new VsockServer();
    server.on('connection', onConnection);
    server.on('error', () => undefined); // accept errors (EMFILE) are transient: the kernel keeps the queue
    const bound = server.listen(a.port === 0 ? 0xffffffff : a.port, a.cid);
    return { address: formatAddress({ kind: 'vsock', cid: bound.cid, port: bound.port }), close: async () => server.close() };
  }
  const server: Server = createServer({ allowHalfOpen: true, pauseOnConnect: false }, onConnection);
  if (a.kind === 'unix') await listenUnix(server, a.path, options.unixMode ?? 0o600);
  else {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(a.port, a.host, () => resolve());
    });
  }
  const bound = server.address();
  const text =
    a.kind === 'unix' ? formatAddress(a) : formatAddress({ kind: 'tcp', host: a.host, port: typeof bound === 'object' && bound ? bound.port : a.port });
  return {
    address: text,
    // server.close() stops accepting at once; its callback would wait for every open connection,
    // which is the owner's business (a proxy drains them after it stops accepting).
    close: async () => {
      server.close();
    },
  };
}

/**
 * Binds `server` to a Unix socket at `path` with file mode `mode`. The path is claimed first (see
 * claimUnixSocketPath); the file appears at bind with the umask's mode, so the bind runs under umask
 * 0177 (0600 from the first instant, never wider than asked), then takes `mode`.
 */
export async function listenUnix(server: Server, path: string, mode: number): Promise<void> {
  await claimUnixSocketPath(path);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    const umask = process.umask(0o177);
    try {
      server.listen(path, () => resolve());
    } finally {
      process.umask(umask);
    }
  });
  await chmod(path, mode);
}

/**
 * Makes `path` free for a new Unix socket without taking anything that is not ours to take: nothing
 * there is fine; a socket that refuses connections is stale (left by a crash) and is removed; a live
 * socket (another server answering) or anything that is not a socket is refused with a clear error.
 */
export async function claimUnixSocketPath(path: string): Promise<void> {
  let st: Awaited<ReturnType<typeof lstat>>;
  try {
    st = await lstat(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    // Nothing there. Its directory must exist: binding in a missing one reports EACCES, which names no cause.
    const parent = await stat(dirname(path)).catch(() => undefined);
    if (parent === undefined) throw new NativeLayerError('ERR_UNIX_SOCKET_PATH', `cannot listen on ${path}: the directory ${dirname(path)} does not exist`);
    if (!parent.isDirectory()) throw new NativeLayerError('ERR_UNIX_SOCKET_PATH', `cannot listen on ${path}: ${dirname(path)} is not a directory`);
    return;
  }
  if (!st.isSocket()) throw new NativeLayerError('ERR_UNIX_SOCKET_PATH', `${path} exists and is not a socket: refusing to replace it`);
  const live = await new Promise<boolean>((resolve) => {
    const probe = netConnect({ path });
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (live) throw new NativeLayerError('ERR_UNIX_SOCKET_PATH', `${path} is in use by a running server: stop it first, or choose another path`);
  await unlink(path).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'ENOENT') throw e;
  });
}

/**
 * The process at the other end of a connected Unix socket (`net.Socket` from a `unix:` listener), as
 * the kernel recorded it at connect: the peer cannot forge it. Undefined for any other socket.
 */
export function unixPeerCredentials(socket: Socket): { pid: number; uid: number; gid: number } | undefined {
  // Node keeps the fd on the handle of a pipe (its Unix socket); there is no public accessor.
  const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) return undefined;
  try {
    return loadNativeAddon().socketPeerCredentials(fd);
  } catch {
    return undefined; // not a Unix socket (ENOTSOCK, EINVAL): no credentials to report
  }
}
