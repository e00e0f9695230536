import { connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { readMetric, spawnProxy, tcpServer } from '../../support/index.js';

const MiB = 1024 * 1024;

function tcpConnect(address: string): Promise<Socket> {
  const [, host, port] = /^tcp:(.+):(\d+)$/.exec(address) ?? [];
  return new Promise((resolve, reject) => {
    const s = connect({ host: host as string, port: Number(port), allowHalfOpen: true }, () => resolve(s));
    s.once('error', reject);
  });
}

describe('the proxy under load (its own process; memory read from its metrics endpoint)', () => {
  it('a reader that never reads does not make the proxy buffer without bound', async () => {
    let upstreamSent = 0;
    const upstream = await tcpServer((s) => {
      const chunk = Buffer.alloc(256 * 1024, 7);
      const pump = () => {
        while (upstreamSent < 1024 * MiB) {
          upstreamSent += chunk.length;
          if (!s.write(chunk)) return void s.once('drain', pump);
        }
      };
      s.on('error', () => undefined);
      pump();
    });
    const proxy = await spawnProxy([
      '--route',
      `tcp:127.0.0.1:0=127.0.0.1:${upstream.port}`,
      '--allow',
      `127.0.0.1:${upstream.port}`,
      '--metrics',
      'tcp:127.0.0.1:0',
    ]);
    try {
      const metrics = proxy.ready.metrics as string;
      const before = await readMetric(metrics, 'process_resident_memory_bytes');
      const client = await tcpConnect(proxy.ready.routes[0]?.listen as string);
      client.pause(); // never reads
      await new Promise((r) => setTimeout(r, 2000));
      const after = await readMetric(metrics, 'process_resident_memory_bytes');
      // The upstream was stopped by backpressure: it got a few socket buffers out, not a gigabyte.
      expect(upstreamSent).toBeLessThan(64 * MiB);
      expect(after - before).toBeLessThan(32 * MiB);
      client.destroy();
    } finally {
      proxy.child.kill('SIGTERM');
      await upstream.close();
    }
  }, 60_000);

  it('1,000 concurrent connections complete with bounded memory, and connection 1,001 on a route limited to 1,000 is refused cleanly', async () => {
    const upstream = await tcpServer((s) => {
      s.on('error', () => undefined);
      s.pipe(s); // echo, and end when the client ends
    });
    const proxy = await spawnProxy([
      '--route',
      `tcp:127.0.0.1:0=127.0.0.1:${upstream.port}`,
      '--allow',
      `127.0.0.1:${upstream.port}`,
      '--metrics',
      'tcp:127.0.0.1:0',
      '--route-max-connections',
      '1000',
    ]);
    const listen = proxy.ready.routes[0]?.listen as string;
    const metrics = proxy.ready.metrics as string;
    const clients: Socket[] = [];
    try {
      for (let i = 0; i < 1000; i += 100) clients.push(...(await Promise.all(Array.from({ length: 100 }, () => tcpConnect(listen)))));
      for (let i = 0; (await readMetric(metrics, 'nitro_proxy_connections_active', `{route="${listen}"}`)) < 1000; i++) {
        if (i > 200) throw new Error('the proxy did not see 1,000 connections');
        await new Promise((r) => setTimeout(r, 25));
      }
      const rss = await readMetric(metrics, 'process_resident_memory_bytes');
      expect(rss).toBeLessThan(256 * MiB);

      // Connection 1,001: accepted by the kernel, then closed by the proxy before any byte moves.
      const extra = await tcpConnect(listen);
      const extraResult = await new Promise<{ bytes: number }>((resolve) => {
        let bytes = 0;
        extra.on('data', (d: Buffer) => {
          bytes += d.length;
        });
        extra.on('error', () => resolve({ bytes }));
        extra.on('end', () => resolve({ bytes }));
        extra.write('hello?');
      });
      expect(extraResult.bytes).toBe(0);
      expect(await readMetric(metrics, 'nitro_proxy_connections_refused_total', `{route="${listen}",reason="route-limit"}`)).toBe(1);

      // Every one of the 1,000 completes an echo round trip.
      const payload = Buffer.alloc(1024, 5);
      const results = await Promise.all(
        clients.map(
          (c) =>
            new Promise<number>((resolve, reject) => {
              let got = 0;
              c.on('data', (d: Buffer) => {
                got += d.length;
              });
              c.once('end', () => resolve(got));
              c.once('error', reject);
              c.end(payload);
            }),
        ),
      );
      expect(results.every((n) => n === 1024)).toBe(true);
      expect(await readMetric(metrics, 'process_resident_memory_bytes')).toBeLessThan(256 * MiB);
    } finally {
      for (const c of clients) c.destroy();
      proxy.child.kill('SIGTERM');
      await upstream.close();
    }
  }, 120_000);
});
