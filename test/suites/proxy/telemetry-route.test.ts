import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configFromValues, type RunningProxy, startProxy } from '@nitro-datakey/parent-proxy';
import { encodeTelemetry, parseTelemetryDown, parseTelemetryUp } from '@nitro-datakey/shared/telemetry';

/*
 * The telemetry route as a hostile enclave meets it: whatever it sends is data in the parent's output (JSON
 * escaped, stamped with the enclave), malformed or over-long lines are counted and never echoed, a flood
 * past the rate cap is dropped and counted, and a label cannot pass for another enclave.
 */
let dir: string;
let proxy: RunningProxy;
const metricsUrl = () => `http://${proxy.metrics?.slice('tcp:'.length)}`;
const lines = () =>
  readFileSync(join(dir, 'out.log'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
const now = () => new Date().toISOString();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ndk-telemetry-route-'));
  proxy = await startProxy(
    configFromValues({
      routes: [{ listen: 'tcp:127.0.0.1:0', upstream: 'kms.us-east-1.amazonaws.com:443' }],
      telemetry: { listen: `unix:${join(dir, 'telemetry.sock')}`, output: join(dir, 'out.log'), maxLinesPerSecond: 50, heartbeatTimeoutMs: 1000 },
      metrics: { listen: 'tcp:127.0.0.1:0' },
      limits: { shutdownGraceMs: 100 },
    }),
  );
});

afterAll(async () => {
  await proxy?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function enclave(): Promise<Socket> {
  const socket = connect(proxy.telemetry?.slice('unix:'.length) as string);
  await new Promise((r) => socket.once('connect', r));
  return socket;
}
const settle = () => new Promise((r) => setTimeout(r, 150));

describe('the telemetry route, parent side', () => {
  it('writes output as escaped data stamped with the enclave; counts malformed and over-long lines without echoing them', async () => {
    const socket = await enclave();
    socket.write(encodeTelemetry({ kind: 'heartbeat', time: now(), moduleId: 'i-hostile-enc0', uptimeMs: 1, metrics: [] }));
    socket.write(encodeTelemetry({ kind: 'output', time: now(), stream: 'stdout', line: '{"level":"error","msg":"forged parent line"}\u001b[31m' }));
    socket.write('this is not json\n');
    socket.write(`${'x'.repeat(200 * 1024)}\n`);
    socket.write(encodeTelemetry({ kind: 'output', time: now(), stream: 'stdout', line: 'after the junk' }));
    await settle();
    const out = lines().filter((l) => l['enclave'] === 'i-hostile-enc0');
    expect(out.map((l) => l['line'])).toEqual(['{"level":"error","msg":"forged parent line"}\u001b[31m', 'after the junk']);
    const text = readFileSync(join(dir, 'out.log'), 'utf8');
    expect(text).not.toContain('this is not json');
    expect(text).not.toContain('xxxxxxxxxx');
    const metrics = await (await fetch(`${metricsUrl()}/metrics`)).text();
    expect(metrics).toContain('nitro_proxy_enclave_telemetry_malformed_total{enclave="i-hostile-enc0"} 1');
    socket.destroy();
  });

  it('drops a flood past the rate cap and says how many; /healthz turns 503 when the heartbeat stops', async () => {
    const socket = await enclave();
    socket.write(encodeTelemetry({ kind: 'heartbeat', time: now(), moduleId: 'i-flood-enc0', uptimeMs: 1, metrics: [] }));
    for (let i = 0; i < 500; i++) socket.write(encodeTelemetry({ kind: 'output', time: now(), stream: 'stdout', line: `line ${i}` }));
    await settle();
    expect((await fetch(`${metricsUrl()}/healthz`)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1100));
    socket.write(encodeTelemetry({ kind: 'output', time: now(), stream: 'stdout', line: 'after a second' })); // a new window flushes the count
    await settle();
    const mine = lines().filter((l) => l['enclave'] === 'i-flood-enc0');
    expect(mine.filter((l) => l['stream'] === 'stdout').length).toBeLessThanOrEqual(52);
    expect(mine).toContainEqual(expect.objectContaining({ stream: 'parent', message: 'enclave lines dropped over the rate cap', lines: expect.any(Number) }));
    expect((await fetch(`${metricsUrl()}/healthz`)).status).toBe(503);
    socket.destroy();
  });

  it("an enclave's metrics carry its own enclave label, whatever labels it sends; /attestation without an enclave is 503", async () => {
    const socket = await enclave();
    const family = { name: 'nitro_enclave_x_total', help: 'x', type: 'counter' as const, samples: [{ labels: { enclave: 'someone-else' }, value: 3 }] };
    socket.write(encodeTelemetry({ kind: 'heartbeat', time: now(), moduleId: 'i-label-enc0', uptimeMs: 1, metrics: [family] }));
    await settle();
    expect(await (await fetch(`${metricsUrl()}/metrics`)).text()).toContain('nitro_enclave_x_total{enclave="i-label-enc0"} 3');
    socket.destroy();
    await settle();
    expect((await fetch(`${metricsUrl()}/attestation?nonce=00ff`)).status).toBe(503);
  });
});

describe('the telemetry protocol', () => {
  it.each([
    ['an unknown kind', { kind: 'shell', time: 'x', command: 'rm -rf /' }],
    ['an unknown member', { kind: 'output', time: 'x', stream: 'stdout', line: 'a', extra: 1 }],
    ['another stream', { kind: 'output', time: 'x', stream: 'tty', line: 'a' }],
    [
      'a metric with a bad name',
      { kind: 'heartbeat', time: 'x', moduleId: 'm', uptimeMs: 1, metrics: [{ name: 'a b', help: '', type: 'counter', samples: [] }] },
    ],
    [
      'a label with a bad name',
      {
        kind: 'heartbeat',
        time: 'x',
        moduleId: 'm',
        uptimeMs: 1,
        metrics: [{ name: 'a', help: '', type: 'gauge', samples: [{ labels: { 'a-b': 'x' }, value: 1 }] }],
      },
    ],
    ['a dropped count of 0', { kind: 'dropped', time: 'x', lines: 0 }],
  ])('refuses %s from the enclave (ERR_TELEMETRY_MALFORMED)', (_, record) => {
    expect(() => parseTelemetryUp(JSON.stringify(record))).toThrow(expect.objectContaining({ code: 'ERR_TELEMETRY_MALFORMED' }));
  });

  it.each([
    ['anything but attest', { kind: 'exec', id: 'a', nonce: '00' }],
    ['an upper-case nonce', { kind: 'attest', id: 'a', nonce: '0A' }],
    ['an empty nonce', { kind: 'attest', id: 'a', nonce: '' }],
    ['a nonce over 1024 bytes', { kind: 'attest', id: 'a', nonce: '00'.repeat(1025) }],
    ['an id with a slash', { kind: 'attest', id: 'a/b', nonce: '00' }],
  ])('refuses %s from the parent', (_, record) => {
    expect(() => parseTelemetryDown(JSON.stringify(record))).toThrow(expect.objectContaining({ code: 'ERR_TELEMETRY_MALFORMED' }));
  });
});
