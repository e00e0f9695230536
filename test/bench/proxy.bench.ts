import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { spawnProxy } from '../support/index.js';
import { progress } from './harness.js';

const MiB = 1024 * 1024;

/** Whether socat is installed. The bench never installs anything: without socat its rows are skipped. */
function haveSocat(): boolean {
  if (spawnSync('socat', ['-V']).status === 0) return true;
  console.log('socat is not installed: its comparison rows are skipped (install socat, e.g. apt-get install socat, to compare)');
  return false;
}

async function upstreamServer(): Promise<{ server: Server; port: number }> {
  // Sinks what it receives; echoes one byte back for each connection-rate probe; ends when the client ends.
  const server = createServer({ allowHalfOpen: true }, (s) => {
    s.on('error', () => undefined);
    s.once('data', (d: Buffer) => {
      if (d.length === 1) s.write(d);
      s.resume();
    });
    s.once('end', () => s.end());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { server, port: (server.address() as AddressInfo).port };
}

function tcp(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, allowHalfOpen: true, noDelay: true }, () => resolve(s));
    s.once('error', reject);
  });
}

/** MiB/s for `total` bytes sent through `port` to the sink, counted when the sink has everything (the end comes back). */
async function throughput(port: number, total: number): Promise<number> {
  const s = await tcp(port);
  const chunk = Buffer.alloc(256 * 1024, 1);
  const start = process.hrtime.bigint();
  for (let sent = 0; sent < total; sent += chunk.length) {
    if (!s.write(chunk)) await new Promise((r) => s.once('drain', r));
  }
  s.end();
  await new Promise((r) => s.once('end', r).resume());
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  s.destroy();
  return total / MiB / seconds;
}

/** New connections per second: connect, one byte there and back, close; `concurrency` at a time. */
async function connectionRate(port: number, count: number, concurrency: number): Promise<number> {
  let next = 0;
  const start = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < count) {
        const s = await tcp(port);
        await new Promise<void>((resolve, reject) => {
          s.once('data', () => resolve());
          s.once('error', reject);
          s.write(Buffer.of(1));
        });
        s.end();
        await new Promise((r) => s.once('close', r).resume());
      }
    }),
  );
  return count / (Number(process.hrtime.bigint() - start) / 1e9);
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      (await tcp(port)).destroy();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`nothing listens on ${port}`);
}

/** Forwarding throughput and connection setup rate, nitro-parent-proxy beside socat, same upstream, same run. */
export async function proxyBenchmarks(): Promise<void> {
  const upstream = await upstreamServer();
  const proxy = await spawnProxy([
    '--route',
    `tcp:127.0.0.1:0=127.0.0.1:${upstream.port}`,
    '--allow',
    `127.0.0.1:${upstream.port}`,
    '--route-max-connections',
    '4096',
  ]);
  const proxyPort = Number(String(proxy.ready.routes[0]?.listen).split(':').pop());
  let socat: ChildProcess | undefined;
  let socatPort: number | undefined;
  if (haveSocat()) {
    socatPort = await freePort();
    socat = spawn('socat', [`TCP-LISTEN:${socatPort},bind=127.0.0.1,reuseaddr,fork`, `TCP:127.0.0.1:${upstream.port}`], { stdio: 'ignore' });
    await waitForPort(socatPort);
  }
  try {
    const rows: string[] = [];
    const size = 1024 * MiB;
    const measure = async (name: string, port: number) => {
      await throughput(port, 64 * MiB); // warm up
      const runs = [];
      for (let i = 0; i < 3; i++) {
        progress(`${name}: run ${i + 1}/3, 1 GiB`);
        runs.push(await throughput(port, size));
      }
      runs.sort((a, b) => a - b);
      await connectionRate(port, 200, 8);
      const rate = await connectionRate(port, 2000, 8);
      rows.push(`| ${name} | ${(runs[1] as number).toFixed(0)} | ${rate.toFixed(0)} |`);
      return runs[1] as number;
    };
    const ours = await measure('nitro-parent-proxy (Node, pipe)', proxyPort);
    const theirs = socatPort === undefined ? undefined : await measure('socat 1.7 (fork per connection)', socatPort);
    console.log('\n## Parent proxy forwarding, TCP loopback to a TCP upstream (same machine, same run)\n');
    console.log('| forwarder | throughput MiB/s (median of 3 x 1 GiB) | connections/s (connect, 1 byte each way, close; 8 at a time) |');
    console.log('|---|---:|---:|');
    for (const row of rows) console.log(row);
    if (theirs === undefined) console.log('- socat unavailable: no comparison');
    else console.log(`- target throughput at least socat's: ${ours >= theirs ? 'MET' : 'MISSED'} (${((ours / theirs) * 100).toFixed(0)}% of socat)`);
  } finally {
    socat?.kill();
    proxy.child.kill('SIGTERM');
    upstream.server.close();
  }
}
