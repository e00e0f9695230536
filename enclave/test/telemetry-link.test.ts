import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Nsm } from '@nitro-datakey/shared';
import { parseTelemetryUp } from '@nitro-datakey/shared/telemetry';
import { EnclaveMetrics } from '../src/app/telemetry/enclave-metrics.js';
import { TelemetryLink } from '../src/app/telemetry/telemetry-link.js';

// The enclave's end of the telemetry route against parents that misbehave: one that never reads, one that
// sends junk and requests it must refuse. The workload's side (output()) must never wait.
const dirs: string[] = [];
const servers: Server[] = [];
const links: TelemetryLink[] = [];
afterEach(async () => {
  for (const link of links.splice(0)) link.close();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const nsm = { attest: async () => new Uint8Array([1, 2, 3]) } as unknown as Nsm;

async function parent(onSocket: (socket: Socket) => void): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'ndk-link-'));
  dirs.push(dir);
  const server = createServer((s) => {
    s.on('error', () => undefined);
    onSocket(s);
  });
  servers.push(server);
  const path = join(dir, 'telemetry.sock');
  await new Promise<void>((r) => server.listen(path, r));
  return `unix:${path}`;
}

function link(address: string, maxQueueBytes = 64 * 1024): TelemetryLink {
  const l = new TelemetryLink({ address, nsm, moduleId: 'i-test-enc0', metrics: new EnclaveMetrics(), maxQueueBytes, heartbeatMs: 60_000 });
  links.push(l);
  l.start();
  return l;
}

describe('the telemetry link', () => {
  it('never makes the workload wait: a parent that reads nothing fills the queue, then lines are dropped and counted', async () => {
    let received = '';
    let reader: Socket | undefined;
    const address = await parent((s) => {
      reader = s;
      s.pause(); // reads nothing, until told
      s.on('data', (d: Buffer) => {
        received += d.toString();
      });
    });
    const l = link(address);
    await new Promise((r) => setTimeout(r, 100));
    const line = 'y'.repeat(1000);
    const started = performance.now();
    for (let i = 0; i < 20_000; i++) l.output('stdout', line);
    expect(performance.now() - started).toBeLessThan(5_000); // 20 MB offered; what does not fit is dropped at once
    reader?.resume();
    l.output('stdout', 'the last line');
    await l.flush(5_000);
    await new Promise((r) => setTimeout(r, 200));
    const records = received.split('\n').filter(Boolean).map(parseTelemetryUp);
    const outputs = records.filter((r) => r.kind === 'output');
    expect(outputs.length).toBeLessThan(20_000);
    expect(records).toContainEqual(expect.objectContaining({ kind: 'dropped', lines: expect.any(Number) }));
    const dropped = records.filter((r) => r.kind === 'dropped').reduce((n, r) => n + (r.kind === 'dropped' ? r.lines : 0), 0);
    expect(outputs.length + dropped).toBe(20_001);
    expect(outputs.at(-1)).toMatchObject({ line: 'the last line' });
  });

  it('answers a valid attestation request from the NSM and ignores junk and requests outside the protocol', async () => {
    let received = '';
    const address = await parent((s) => {
      s.on('data', (d: Buffer) => {
        received += d.toString();
      });
      s.write('garbage\n');
      s.write('{"kind":"exec","id":"a","nonce":"00"}\n');
      s.write('{"kind":"attest","id":"r1","nonce":"00ff"}\n');
    });
    link(address);
    await new Promise((r) => setTimeout(r, 300));
    const records = received.split('\n').filter(Boolean).map(parseTelemetryUp);
    expect(records.filter((r) => r.kind === 'attestation')).toEqual([{ kind: 'attestation', id: 'r1', document: 'AQID' }]);
  });

  it('cuts a line longer than the route takes, and says so', async () => {
    let received = '';
    const address = await parent((s) => {
      s.on('data', (d: Buffer) => {
        received += d.toString();
      });
    });
    const l = link(address, 1024 * 1024);
    l.output('stderr', 'z'.repeat(100_000));
    await l.flush(2_000);
    await new Promise((r) => setTimeout(r, 100));
    const output = received
      .split('\n')
      .filter(Boolean)
      .map(parseTelemetryUp)
      .find((r) => r.kind === 'output');
    expect(output).toMatchObject({ stream: 'stderr', line: expect.stringMatching(/\.\.\. \[cut: 100000 characters\]$/) });
  });
});
