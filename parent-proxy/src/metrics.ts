import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { limitHttpServer } from '@nitro-datakey/shared/cli';
import { nonceParameter } from '@nitro-datakey/shared/telemetry';

type Labels = Readonly<Record<string, string>>;

/** Counters and gauges rendered in Prometheus text format. */
export class Metrics {
  readonly #values = new Map<string, { help: string; type: 'counter' | 'gauge'; series: Map<string, number> }>();

  inc(name: string, help: string, labels: Labels = {}, by = 1): void {
    this.#series(name, help, 'counter').set(key(labels), (this.#series(name, help, 'counter').get(key(labels)) ?? 0) + by);
  }

  set(name: string, help: string, labels: Labels, value: number): void {
    this.#series(name, help, 'gauge').set(key(labels), value);
  }

  render(): string {
    const memory = process.memoryUsage();
    this.set('process_resident_memory_bytes', 'Resident set size of the proxy process.', {}, memory.rss);
    this.set('nodejs_heap_used_bytes', 'V8 heap in use.', {}, memory.heapUsed);
    let out = '';
    for (const [name, m] of this.#values) {
      out += `# HELP ${name} ${m.help}\n# TYPE ${name} ${m.type}\n`;
      for (const [labels, value] of m.series) out += `${name}${labels} ${value}\n`;
    }
    return out;
  }

  get(name: string, labels: Labels = {}): number {
    return this.#values.get(name)?.series.get(key(labels)) ?? 0;
  }

  #series(name: string, help: string, type: 'counter' | 'gauge'): Map<string, number> {
    let m = this.#values.get(name);
    if (!m) {
      m = { help, type, series: new Map() };
      this.#values.set(name, m);
    }
    return m.series;
  }
}

/** Prometheus label text, `{k="v",...}` with values escaped; empty for no labels. */
export function key(labels: Labels): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return '';
  return `{${entries.map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`).join(',')}}`;
}

/**
 * A scraper needs one short request at a time: a few connections, each done within seconds. Anything
 * more is a local process holding descriptors the KMS route needs.
 */
const METRICS_LIMITS = { maxConnections: 8, requestTimeoutMs: 5_000 } as const;

/** What the enclave's telemetry adds to the endpoint: its metrics, its health, its attestation on request. */
export interface EnclaveEndpoints {
  renderMetrics(): string;
  health(): { readonly healthy: boolean };
  attest(nonce: Uint8Array): Promise<Uint8Array>;
}

/**
 * Serves on a loopback TCP address, capped and timed out (METRICS_LIMITS): GET /metrics (the proxy's and
 * the enclave's, labelled `enclave`), GET /healthz (200 while the enclave's heartbeat is fresh, else 503),
 * GET /attestation?nonce=HEX (a fresh attestation document over the nonce, CBOR, for `nitro-datakey verify`).
 */
export async function serveMetrics(metrics: Metrics, host: string, port: number, enclave?: EnclaveEndpoints): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://metrics');
    if (req.method !== 'GET') {
      res.writeHead(405).end();
    } else if (url.pathname === '/metrics' || url.pathname === '/') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(metrics.render() + (enclave?.renderMetrics() ?? ''));
    } else if (url.pathname === '/healthz' && enclave) {
      const health = enclave.health();
      res.writeHead(health.healthy ? 200 : 503, { 'content-type': 'application/json' }).end(`${JSON.stringify(health)}\n`);
    } else if (url.pathname === '/attestation' && enclave) {
      void attestation(enclave, url.searchParams.get('nonce'), res);
    } else {
      res.writeHead(404).end();
    }
  });
  limitHttpServer(server, METRICS_LIMITS);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return { server, port: (server.address() as AddressInfo).port };
}

/** GET /attestation?nonce=HEX: the nonce is the operator's (1 to 1024 bytes), the document the enclave's NSM's. */
async function attestation(enclave: EnclaveEndpoints, nonceHex: string | null, res: import('node:http').ServerResponse): Promise<void> {
  const nonce = nonceParameter(nonceHex);
  if (nonce === undefined) {
    res.writeHead(400, { 'content-type': 'text/plain' }).end('give ?nonce=HEX: 1 to 1024 bytes of hex, fresh for each request\n');
    return;
  }
  try {
    const document = await enclave.attest(nonce);
    res.writeHead(200, { 'content-type': 'application/cbor' }).end(document);
  } catch (e) {
    res.writeHead(503, { 'content-type': 'text/plain' }).end(`${(e as Error).message}\n`);
  }
}
