import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { connectTo } from '@nitro-datakey/native';
import { configFromValues, startProxy, type RunningProxy } from '@nitro-datakey/parent-proxy';
import { receiveAll, sendRandom, tcpServer } from '../../support/index.js';
import { scratchDir } from '../../support/scratch.js';

async function proxyTo(upstreamPort: number, listen: string, limits: Record<string, number> = {}): Promise<RunningProxy> {
  return startProxy(configFromValues({ routes: [{ listen, upstream: `127.0.0.1:${upstreamPort}` }], allow: [`127.0.0.1:${upstreamPort}`], limits }));
}

/** The proxy closing its side shows up at a half-open client as the end of its readable side (or a reset). */
const waitClose = (s: Duplex) =>
  new Promise<void>((r) => {
    if (s.destroyed || s.readableEnded) return r();
    s.once('end', () => r());
    s.once('close', () => r());
    s.once('error', () => r());
  });

describe.each([
  ['tcp', () => 'tcp:127.0.0.1:0'],
  ['unix', () => `unix:${join(scratchDir('ndk-px-'), 'route.sock')}`],
])('the proxy over %s', (_kind, listenAddress) => {
  it('forwards 64 MiB each way intact', async () => {
    const size = 64 * 1024 * 1024;
    let upstreamGot: Promise<{ bytes: number; sha256: string }> | undefined;
    let upstreamSent: Promise<string> | undefined;
    const upstream = await tcpServer((s) => {
      upstreamGot = receiveAll(s);
      upstreamSent = sendRandom(s, size);
    });
    const proxy = await proxyTo(upstream.port, listenAddress());
    const client = await connectTo(proxy.routes[0]?.listen as string);
    const got = receiveAll(client);
    const sent = await sendRandom(client, size);
    expect(await got).toEqual({ bytes: size, sha256: await upstreamSent });
    expect(await upstreamGot).toEqual({ bytes: size, sha256: sent });
    await proxy.close();
    await upstream.close();
  }, 120_000);

  it('half-closes both ways: the upstream answers after the enclave ends, and the reverse', async () => {
    const upstream = await tcpServer((s) => {
      const chunks: Buffer[] = [];
      s.on('data', (d: Buffer) => chunks.push(d));
      s.once('end', () => s.end(`echo:${Buffer.concat(chunks).toString()}`)); // answers only after the enclave's FIN
    });
    const proxy = await proxyTo(upstream.port, listenAddress());
    const client = await connectTo(proxy.routes[0]?.listen as string);
    const got = receiveAll(client);
    client.end('ping');
    const reply = await got;
    expect(reply.bytes).toBe('echo:ping'.length);

    // Reverse: the upstream ends first, the enclave still sends afterwards and the upstream receives it.
    const reverse = await tcpServer((s) => {
      s.end('bye-first');
      receiveAll(s).then((r) => s.destroy(Object.assign(new Error(String(r.bytes)))));
    });
    const proxy2 = await proxyTo(reverse.port, listenAddress());
    const c2 = await connectTo(proxy2.routes[0]?.listen as string);
    const got2 = receiveAll(c2);
    expect((await got2).bytes).toBe('bye-first'.length);
    c2.end('late words');
    await waitClose(c2);
    await Promise.all([proxy.close(), proxy2.close(), upstream.close(), reverse.close()]);
  });

  it('closes the enclave side promptly when the upstream refuses, and counts the failure', async () => {
    const dead = await tcpServer(() => undefined);
    const port = dead.port;
    await dead.close(); // nothing listens there now: ECONNREFUSED
    const proxy = await proxyTo(port, listenAddress(), { connectTimeoutMs: 2000 });
    const client = await connectTo(proxy.routes[0]?.listen as string);
    client.on('error', () => undefined);
    client.resume();
    const t = Date.now();
    await waitClose(client);
    expect(Date.now() - t).toBeLessThan(1000);
    await new Promise((r) => setTimeout(r, 20));
    expect(proxy.metricsRegistry.render()).toMatch(/^nitro_proxy_upstream_failures_total\{route="[^"]+"\} 1$/m);
    await proxy.close();
  });

  it('closes the enclave side within the connect timeout when the upstream never answers', async () => {
    // A loopback listener that never accepts and whose backlog is full: further SYNs are dropped and connect() hangs.
    const py = spawn(
      'python3',
      [
        '-c',
        [
          'import socket,sys,time',
          's=socket.socket()',
          's.bind(("127.0.0.1",0))',
          's.listen(0)',
          'print(s.getsockname()[1],flush=True)',
          'fill=[]',
          'for i in range(8):',
          '  c=socket.socket(); c.setblocking(False)',
          '  try: c.connect(("127.0.0.1",s.getsockname()[1]))',
          '  except BlockingIOError: pass',
          '  fill.append(c)',
          'time.sleep(60)',
        ].join('\n'),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const port = Number(await new Promise<string>((r) => py.stdout.once('data', (d: Buffer) => r(d.toString().trim()))));
    await new Promise((r) => setTimeout(r, 200));
    const proxy = await proxyTo(port, listenAddress(), { connectTimeoutMs: 700 });
    try {
      const client = await connectTo(proxy.routes[0]?.listen as string);
      client.on('error', () => undefined);
      client.resume();
      const t = Date.now();
      await waitClose(client);
      const elapsed = Date.now() - t;
      expect(elapsed).toBeGreaterThanOrEqual(600);
      expect(elapsed).toBeLessThan(700 + 1500);
    } finally {
      py.kill();
      await proxy.close();
    }
  });

  it('closes idle connections', async () => {
    const upstream = await tcpServer(() => undefined);
    const proxy = await proxyTo(upstream.port, listenAddress(), { idleTimeoutMs: 300 });
    const client = await connectTo(proxy.routes[0]?.listen as string);
    client.on('error', () => undefined);
    client.resume();
    const t = Date.now();
    await waitClose(client);
    expect(Date.now() - t).toBeGreaterThanOrEqual(250);
    await Promise.all([proxy.close(), upstream.close()]);
  });
});

describe('graceful shutdown', () => {
  it('stops accepting, lets open connections finish within the grace period, then closes the rest', async () => {
    let held: import('node:net').Socket | undefined;
    const upstream = await tcpServer((s) => {
      held = s;
    });
    const proxy = await startProxy(
      configFromValues({
        routes: [{ listen: 'tcp:127.0.0.1:0', upstream: `127.0.0.1:${upstream.port}` }],
        allow: [`127.0.0.1:${upstream.port}`],
        limits: { shutdownGraceMs: 400 },
      }),
    );
    const listen = proxy.routes[0]?.listen as string;
    const client = await connectTo(listen);
    client.on('error', () => undefined);
    client.resume();
    await new Promise((r) => setTimeout(r, 50));
    const t = Date.now();
    const closing = proxy.close();
    await expect(connectTo(listen, { timeoutMs: 300 })).rejects.toBeDefined();
    await closing;
    expect(Date.now() - t).toBeGreaterThanOrEqual(350);
    // The connection still open after the grace period was closed: the client sees its end promptly.
    const ended = await Promise.race([waitClose(client).then(() => true), new Promise((r) => setTimeout(() => r(false), 1000))]);
    expect(ended).toBe(true);
    void held;
    await upstream.close();
  });
});

describe('the overall connection limit', () => {
  it('refuses connections beyond limits.maxConnections across routes, logging the reason', async () => {
    const upstream = await tcpServer((s) => s.on('error', () => undefined));
    const logs: Array<Record<string, unknown>> = [];
    const route = (n: number) => ({ listen: 'tcp:127.0.0.1:0', upstream: `127.0.0.1:${upstream.port}`, maxConnections: 10 + n });
    const proxy = await startProxy(configFromValues({ routes: [route(0), route(1)], allow: [`127.0.0.1:${upstream.port}`], limits: { maxConnections: 2 } }), {
      log: (level, msg, fields) => logs.push({ level, msg, ...fields }),
    });
    const a = await connectTo(proxy.routes[0]?.listen as string);
    const b = await connectTo(proxy.routes[1]?.listen as string);
    await new Promise((r) => setTimeout(r, 50));
    const c = await connectTo(proxy.routes[1]?.listen as string);
    c.on('error', () => undefined);
    c.resume();
    await waitClose(c);
    expect(logs.find((l) => l['msg'] === 'connection refused')).toMatchObject({ reason: 'global-limit' });
    for (const s of [a, b]) s.destroy();
    await Promise.all([proxy.close(), upstream.close()]);
  });
});
