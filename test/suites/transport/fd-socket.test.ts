import { createHash, randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { FdSocket, loadNativeAddon } from '@nitro-datakey/enclave';

/** Two FdSockets over an AF_UNIX socketpair: the same code path vsock uses, minus the address family. */
function pair(): [FdSocket, FdSocket] {
  const [a, b] = loadNativeAddon().unixSocketPair();
  return [new FdSocket(a), new FdSocket(b)];
}

/** Writes `total` pseudo-random bytes in chunks, honouring backpressure; resolves with their SHA-256. */
async function send(stream: Duplex, total: number, end = true): Promise<string> {
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

function receive(stream: Duplex): Promise<{ bytes: number; sha256: string }> {
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

describe('FdSocket: the Duplex under vsock, driven over an AF_UNIX socketpair', () => {
  it('moves 64 MiB each way at once, intact', async () => {
    const [a, b] = pair();
    const size = 64 * 1024 * 1024;
    const [ab, ba] = [receive(b), receive(a)];
    const [sentAb, sentBa] = await Promise.all([send(a, size), send(b, size)]);
    expect(await ab).toEqual({ bytes: size, sha256: sentAb });
    expect(await ba).toEqual({ bytes: size, sha256: sentBa });
    expect(a.bytesWritten).toBe(size);
    expect(b.bytesRead).toBe(size);
    a.destroy();
    b.destroy();
  }, 120_000);

  it('half-closes both ways: each side still reads after ending its writes', async () => {
    const [a, b] = pair();
    const gotB = receive(b);
    a.end(Buffer.from('request'));
    expect((await gotB).bytes).toBe(7);
    // a has finished writing; b can still answer, and a still reads it.
    const gotA = receive(a);
    b.end(Buffer.from('response after the peer half-closed'));
    expect((await gotA).bytes).toBe('response after the peer half-closed'.length);
    a.destroy();
    b.destroy();
  });

  it('a reader that does not read stops the writer (backpressure), holding a bounded amount in memory', async () => {
    const [a, b] = pair();
    b.pause();
    let accepted = 0;
    const chunk = Buffer.alloc(64 * 1024, 1);
    while (a.write(chunk)) accepted += chunk.length;
    await new Promise((r) => setTimeout(r, 200));
    // The kernel socket buffers plus two stream high-water marks, not the gigabytes a runaway writer would queue.
    expect(accepted).toBeLessThan(16 * 1024 * 1024);
    expect(a.writableLength).toBeLessThanOrEqual(64 * 1024);
    const drained = new Promise((r) => a.once('drain', r));
    b.resume();
    await drained;
    a.destroy();
    b.destroy();
  });

  it('reports peer resets as Node-style errors and cleans up its fd', async () => {
    const [a, b] = pair();
    b.destroy();
    const error = await new Promise<Error & { code?: string }>((resolve) => {
      a.on('error', resolve);
      const pump = () => {
        if (a.write(Buffer.alloc(64 * 1024))) setImmediate(pump);
      };
      pump();
    });
    expect(['EPIPE', 'ECONNRESET']).toContain(error.code);
    expect(a.destroyed).toBe(true);
  });
});
