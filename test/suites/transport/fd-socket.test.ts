import { describe, expect, it } from 'vitest';
import { FdSocket, loadNativeAddon } from '@nitro-datakey/native';
import { receiveAll as receive, sendRandom as send } from '../../support/index.js';

/** Two FdSockets over an AF_UNIX socketpair: the same code path vsock uses, minus the address family. */
function pair(): [FdSocket, FdSocket] {
  const [a, b] = loadNativeAddon().unixSocketPair();
  return [new FdSocket(a), new FdSocket(b)];
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
