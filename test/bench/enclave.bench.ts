import { GenerateDataKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { transportAgent, type CallTiming } from '@nitro-datakey/enclave';
import { startStack } from '@nitro-datakey/devkit';
import { closedLoop as load, median, percentile } from './harness.js';

/** `rate` calls per second, one at a time, for `seconds`: a load the key generator can sustain. */
async function paced(rate: number, seconds: number, call: () => Promise<unknown>): Promise<{ p50: number; p99: number; calls: number }> {
  const latencies: number[] = [];
  const start = performance.now();
  for (let i = 0; i < rate * seconds; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const t = performance.now();
    await call();
    latencies.push(performance.now() - t);
  }
  latencies.sort((a, b) => a - b);
  return { p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), calls: latencies.length };
}

/** Attested GenerateDataKey through the real proxy and the local KMS, beside the plain SDK call on the same path. */
export async function enclaveBenchmarks(): Promise<void> {
  const timings: CallTiming[] = [];
  const stack = await startStack({ client: { onTiming: (t) => timings.push(t), keys: { poolSize: 4 } } });
  const kmsPort = new URL(stack.kms.endpoint).port;
  const plain = new KMSClient({
    region: stack.kms.region,
    endpoint: `https://localhost:${kmsPort}`,
    credentials: { accessKeyId: 'AKIDPLAIN', secretAccessKey: 'x' },
    requestHandler: new NodeHttpHandler({
      httpsAgent: transportAgent({ transport: stack.proxy.routes[0]?.listen as string, serverName: 'localhost', ca: stack.kms.caCertPem as string }),
    }),
  });
  const reused = stack.clientFor(stack.nsm, { keys: { maxUses: 1000, poolSize: 2 }, onTiming: (t) => timings.push(t) });
  try {
    await stack.client.keys.warm(4);
    const input = { KeyId: stack.keyId, KeySpec: 'AES_256' as const };
    const rows: string[] = [];
    const scenarios: Array<[string, () => Promise<unknown>]> = [
      ['plain SDK GenerateDataKey (no Recipient)', () => plain.send(new GenerateDataKeyCommand(input))],
      ['attested, a new RSA key pair per call (default)', () => stack.client.generateDataKey(input)],
      ['attested, key pair reused up to 1000 calls', () => reused.generateDataKey(input)],
    ];
    const overhead: string[] = [];
    for (const [name, call] of scenarios) {
      for (let i = 0; i < 10; i++) await call(); // warm connections and keys
      for (const concurrency of [1, 16]) {
        timings.length = 0;
        const generatedBefore = stack.client.keys.stats().generated;
        const r = await load(concurrency, 4, call);
        rows.push(`| ${name} | ${concurrency} | ${r.rps.toFixed(0)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} |`);
        if (timings.length > 0) {
          const own = timings.map((t) => t.keyWaitMs + t.attestMs + t.decryptMs);
          overhead.push(overheadRow(name, concurrency, timings, median(own)));
          if (name.includes('default'))
            overhead.push(`|  (key pairs generated during the run: ${stack.client.keys.stats().generated - generatedBefore}) | | | | | | |`);
        }
      }
    }
    // The default policy at a rate the background generator sustains (about 10 RSA-2048 pairs/s here).
    await stack.client.keys.warm(8);
    timings.length = 0;
    const waitsBefore = stack.client.keys.stats().waits;
    const steady = await paced(5, 6, () => stack.client.generateDataKey(input));
    const steadyOwn = median(timings.map((t) => t.keyWaitMs + t.attestMs + t.decryptMs));
    rows.push(`| attested, new key pair per call, paced at 5 calls/s | 1 | 5 | ${steady.p50.toFixed(2)} | ${steady.p99.toFixed(2)} |`);
    overhead.unshift(overheadRow('attested, new key pair per call, paced at 5 calls/s', 1, timings, steadyOwn));
    const steadyWaits = stack.client.keys.stats().waits - waitsBefore;

    console.log('\n## Attested GenerateDataKey through the parent proxy and the local KMS (TLS ends in the client; all in one process)\n');
    console.log('| call | concurrency | requests/s | p50 ms | p99 ms |');
    console.log('|---|---:|---:|---:|---:|');
    for (const row of rows) console.log(row);
    console.log(
      "\nThe client's own overhead per call (medians, ms): waiting for a key pair, the NSM attestation (simulated: one ES384 signature), " +
        'the CMS decrypt; and the KMS round trip for comparison.\n',
    );
    console.log('| call | concurrency | key wait | attest | CMS decrypt | own total | KMS round trip |');
    console.log('|---|---:|---:|---:|---:|---:|---:|');
    for (const row of overhead) console.log(row);
    console.log(
      "- target: the client's own p50 overhead under 5 ms once warm (default policy, paced within the key generator's rate): " +
        `${steadyOwn < 5 ? 'MET' : 'MISSED'} (${steadyOwn.toFixed(2)} ms; calls that waited for a key pair: ${steadyWaits} of ${steady.calls})`,
    );
    console.log(
      '- with a new key pair per call, sustained attested throughput is bounded by RSA-2048 generation ' +
        "(about 10 pairs/s on this machine's 2 cores): the closed-loop rows above show that bound; reusing a key pair (keys.maxUses) lifts it.",
    );
  } finally {
    plain.destroy();
    await stack.close();
  }
}

/** One row of the overhead table: medians of each part of the client's own time. */
function overheadRow(name: string, concurrency: number, timings: readonly CallTiming[], own: number): string {
  const m = (pick: (t: CallTiming) => number) => median(timings.map(pick)).toFixed(2);
  const cells = [name, String(concurrency), m((t) => t.keyWaitMs), m((t) => t.attestMs), m((t) => t.decryptMs), own.toFixed(2), m((t) => t.kmsMs)];
  return `| ${cells.join(' | ')} |`;
}
