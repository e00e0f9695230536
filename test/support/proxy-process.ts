import { builtScript, spawnReady, type ReadyProcess } from '@nitro-datakey/devkit';

export interface ProxyReady {
  readonly routes: readonly { listen: string; upstream: string }[];
  readonly credentials: string | null;
  readonly metrics: string | null;
  readonly pid: number;
}

export function proxyBinPath(): string {
  return builtScript('@nitro-datakey/parent-proxy', 'main.js');
}

/** Starts `nitro-parent-proxy` as its own process and waits until every listener is up. */
export function spawnProxy(args: readonly string[]): Promise<ReadyProcess<ProxyReady>> {
  return spawnReady<ProxyReady>(proxyBinPath(), args);
}

/** One metric's value from the proxy's Prometheus endpoint (`tcp:HOST:PORT`). */
export async function readMetric(metricsAddress: string, name: string, labels = ''): Promise<number> {
  const [, host, port] = /^tcp:(.+):(\d+)$/.exec(metricsAddress) ?? [];
  const text = await (await fetch(`http://${host}:${port}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `) || (labels === '' && l.startsWith(`${name} `)));
  return line ? Number(line.split(' ').pop()) : 0;
}
