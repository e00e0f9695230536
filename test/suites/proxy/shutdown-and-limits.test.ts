import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { proxyBinPath, type ProxyReady, tcpServer, kmsBinPath } from '../../support/index.js';

/*
 * A service stops when told, whatever its clients do: SIGTERM with a request half sent on every
 * listener ends the process within its grace period plus one second (systemd kills it 30 s later, an
 * outage for every enclave). And a local process cannot starve the KMS route through the metrics
 * listener: under a low descriptor limit, hundreds of half-sent metrics requests leave the route working.
 */
const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** `node script args` in a shell with `ulimit -n` when given; resolves with its ready line. */
async function start<T>(script: string, args: readonly string[], fdLimit?: number): Promise<{ child: ChildProcess; ready: T; stderr: () => string }> {
  const child = spawn('bash', ['-c', `${fdLimit ? `ulimit -n ${fdLimit} && ` : ''}exec "$0" "$@"`, process.execPath, script, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  cleanups.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const ready = await new Promise<T>((resolve, reject) => {
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).once('line', (l) => resolve(JSON.parse(l) as T));
    child.once('exit', (code) => reject(new Error(`exited ${String(code)} before ready: ${stderr}`)));
  });
  return { child, ready, stderr: () => stderr };
}

/** A connection to tcp:HOST:PORT or http://HOST:PORT that has sent `bytes` and waits. */
async function halfSent(address: string, bytes: string): Promise<Socket> {
  const m = /(?:tcp:|\/\/)([\d.]+):(\d+)/.exec(address);
  const socket = connect({ host: m?.[1] as string, port: Number(m?.[2]) });
  socket.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  socket.write(bytes);
  cleanups.push(() => {
    socket.destroy();
  });
  return socket;
}

/** Milliseconds from SIGTERM to the process's exit, and its exit code. */
async function stopTimed(child: ChildProcess): Promise<{ ms: number; code: number | null }> {
  const t0 = performance.now();
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  const code = await exited;
  return { ms: performance.now() - t0, code };
}

const HALF_HTTP = 'GET /metrics HTTP/1.1\r\nHost: x\r\n'; // no blank line: the request never ends

describe('nitro-parent-proxy', () => {
  it('exits within the grace period plus one second on SIGTERM, with a request half sent on every listener', async () => {
    const upstream = await tcpServer(() => undefined); // accepts and never answers
    cleanups.push(() => upstream.close());
    const dir = mkdtempSync(join(tmpdir(), 'ndk-shutdown-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const config = join(dir, 'proxy.json');
    const graceMs = 500;
    writeFileSync(
      config,
      JSON.stringify({
        routes: [{ listen: 'tcp:127.0.0.1:0', upstream: `127.0.0.1:${upstream.port}` }],
        allow: [`127.0.0.1:${upstream.port}`],
        credentials: { listen: 'tcp:127.0.0.1:0' },
        metrics: { listen: 'tcp:127.0.0.1:0' },
        limits: { shutdownGraceMs: graceMs },
      }),
    );
    const proxy = await start<ProxyReady>(proxyBinPath(), ['--config', config]);
    await halfSent(proxy.ready.metrics as string, HALF_HTTP);
    await halfSent(proxy.ready.routes[0]?.listen as string, 'POST / HTTP/1.1\r\n');
    await halfSent(proxy.ready.credentials as string, '');
    await new Promise((r) => setTimeout(r, 100));
    const { ms, code } = await stopTimed(proxy.child);
    expect(code).toBe(0);
    expect(ms).toBeLessThan(graceMs + 1_000);
  });

  it('keeps the KMS route working under a low descriptor limit while hundreds of metrics requests hang', async () => {
    const upstream = await tcpServer((s) => s.end('pong'));
    cleanups.push(() => upstream.close());
    const proxy = await start<ProxyReady>(
      proxyBinPath(),
      ['--route', `tcp:127.0.0.1:0=127.0.0.1:${upstream.port}`, '--allow', `127.0.0.1:${upstream.port}`, '--metrics', 'tcp:127.0.0.1:0'],
      64,
    );
    // More half-sent requests than the process has descriptors.
    const held = await Promise.allSettled(Array.from({ length: 120 }, () => halfSent(proxy.ready.metrics as string, HALF_HTTP)));
    expect(held.length).toBe(120);
    await new Promise((r) => setTimeout(r, 200));
    const answer = await new Promise<string>((resolve, reject) => {
      const c = connect({ host: '127.0.0.1', port: Number(/:(\d+)$/.exec(proxy.ready.routes[0]?.listen as string)?.[1]) });
      let got = '';
      c.on('data', (d: Buffer) => {
        got += d.toString();
      });
      c.once('end', () => resolve(got));
      c.once('error', reject);
      c.setTimeout(5_000, () => reject(new Error('no answer through the route')));
    });
    expect(answer).toBe('pong');
    // The metrics listener still answers a scraper once the flood is gone.
    for (const c of cleanups.splice(2)) await c();
    await new Promise((r) => setTimeout(r, 200));
    const m = /tcp:(.+):(\d+)$/.exec(proxy.ready.metrics as string);
    const text = await (await fetch(`http://${m?.[1]}:${m?.[2]}/metrics`)).text();
    expect(text).toContain('nitro_proxy_connections_total');
    expect((await stopTimed(proxy.child)).code).toBe(0);
  });
});

describe('nitro-kms-local', () => {
  it('exits within the grace period plus one second on SIGTERM, with a request half sent', async () => {
    const graceMs = 500;
    const kms = await start<{ endpoint: string }>(kmsBinPath(), ['--quiet', '--shutdown-grace-ms', String(graceMs), '--admin-port', '0']);
    await halfSent(kms.ready.endpoint, 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"Key');
    await halfSent(kms.ready.endpoint, 'POST / HTTP/1.1\r\n');
    await new Promise((r) => setTimeout(r, 100));
    const { ms, code } = await stopTimed(kms.child);
    expect(code).toBe(0);
    expect(ms).toBeLessThan(graceMs + 1_000);
  });

  it('refuses a bad --shutdown-grace-ms as a usage error', async () => {
    const child = spawn(process.execPath, [kmsBinPath(), '--shutdown-grace-ms', 'soon'], { stdio: ['ignore', 'ignore', 'pipe'] });
    expect(await new Promise((r) => child.once('exit', r))).toBe(2);
  });
});
