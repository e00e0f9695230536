import { createHash, randomBytes } from 'node:crypto';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';

/** A loopback TCP server for proxy tests; `port` is the bound port. */
export async function tcpServer(onConnection: (socket: Socket) => void): Promise<{ server: Server; port: number; close: () => Promise<void> }> {
  const server = createServer({ allowHalfOpen: true }, onConnection);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const sockets = new Set<Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Writes `total` random bytes honouring backpressure, optionally ends; resolves with their SHA-256. */
export async function sendRandom(stream: Duplex, total: number, end = true): Promise<string> {
  const hash = createHash('sha256');
  const chunk = randomBytes(256 * 1024);
  for (let sent = 0; sent < total; ) {
    const piece = chunk.subarray(0, Math.min(chunk.length, total - sent));
    hash.update(piece);
    sent += piece.length;
    if (!stream.write(piece)) await new Promise((r) => stream.once('drain', r));
  }
  if (end) stream.end();
  return hash.digest('hex');
}

/** Reads to the end; resolves with the byte count and SHA-256. */
export function receiveAll(stream: Duplex): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash('sha256');
  let bytes = 0;
  return new Promise((resolve, reject) => {
    stream.on('data', (d: Buffer) => {
      bytes += d.length;
      hash.update(d);
    });
    stream.once('end', () => resolve({ bytes, sha256: hash.digest('hex') }));
    stream.once('error', reject);
  });
}
