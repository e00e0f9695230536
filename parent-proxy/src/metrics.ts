import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { limitHttpServer } from '@nitro-datakey/shared/cli';

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
function key(labels: Labels): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return '';
  return `{${entries.map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`).join(',')}}`;
}

/**
 * A scraper needs one short request at a time: a few connections, each done within seconds. Anything
 * more is a local process holding descriptors the KMS route needs.
 */
const METRICS_LIMITS = { maxConnections: 8, requestTimeoutMs: 5_000 } as const;

/** Serves GET /metrics on a loopback TCP address, capped and timed out (METRICS_LIMITS). */
export async function serveMetrics(metrics: Metrics, host: string, port: number): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url !== '/metrics' && req.url !== '/')) {
      res.writeHead(404).end();
      return;
    }
    const body = metrics.render();
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(body);
  });
  limitHttpServer(server, METRICS_LIMITS);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return { server, port: (server.address() as AddressInfo).port };
}
