import { execFile } from 'node:child_process';
import { connect } from 'node:net';
import { promisify } from 'node:util';
import { chmodSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fetchParentCredentials, parentCredentialsProvider } from '@nitro-datakey/enclave';
import { configFromValues, loadConfigFile, nitroParentProxy, startProxy } from '@nitro-datakey/parent-proxy';
import type { AwsCredentials as Credentials } from '@nitro-datakey/shared';
import { projectRoot, proxyBinPath, spawnProxy, tcpServer } from '../../support/index.js';

const run = promisify(execFile);
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';

describe('the credentials route', () => {
  it("serves the provider's credentials, refreshes them before expiry, and never logs them", async () => {
    let calls = 0;
    let expiresIn = 60 * 60_000;
    const provider = async (): Promise<Credentials> => {
      calls++;
      return { accessKeyId: `ASIA${calls}`, secretAccessKey: SECRET, sessionToken: `token-${calls}`, expiration: new Date(Date.now() + expiresIn) };
    };
    const logs: string[] = [];
    const proxy = await startProxy(
      configFromValues({ routes: [{ listen: 'tcp:127.0.0.1:0', upstream: 'kms.us-east-1.amazonaws.com:443' }], credentials: { listen: 'tcp:127.0.0.1:0' } }),
      {
        credentialProvider: provider,
        log: (level, msg, fields) => logs.push(JSON.stringify({ level, msg, ...fields })),
      },
    );
    try {
      const first = await fetchParentCredentials(proxy.credentials as string);
      expect(first).toMatchObject({ accessKeyId: 'ASIA1', secretAccessKey: SECRET, sessionToken: 'token-1' });
      expect(first.expiration).toBeInstanceOf(Date);
      await fetchParentCredentials(proxy.credentials as string);
      expect(calls).toBe(1); // cached
      expiresIn = 60_000; // the next credentials are close to expiry...
      proxy.metricsRegistry.inc('x', 'x');
      // ...so the enclave's provider keeps what it has until 5 minutes before expiry, and the proxy refreshes in time.
      const enclaveSide = parentCredentialsProvider({ address: proxy.credentials as string });
      const a = await enclaveSide();
      const b = await enclaveSide();
      expect(b).toBe(a); // cached on the enclave side too
      expect(logs.join('\n')).not.toContain(SECRET);
      expect(logs.join('\n')).not.toContain('token-1');
    } finally {
      await proxy.close();
    }
  });

  it('refreshes on the enclave side when the cached credentials near expiry, with one fetch for concurrent callers', async () => {
    let calls = 0;
    const proxy = await startProxy(
      configFromValues({ routes: [{ listen: 'tcp:127.0.0.1:0', upstream: 'kms.us-east-1.amazonaws.com:443' }], credentials: { listen: 'tcp:127.0.0.1:0' } }),
      {
        credentialProvider: async () => ({ accessKeyId: `ASIA${++calls}`, secretAccessKey: SECRET, expiration: new Date(Date.now() + 2 * 60_000) }),
      },
    );
    try {
      const provider = parentCredentialsProvider({ address: proxy.credentials as string, refreshMarginMs: 60_000 });
      const [x, y] = await Promise.all([provider(), provider()]);
      expect(x).toBe(y);
      expect(x.accessKeyId).toBe('ASIA1');
      const soon = parentCredentialsProvider({ address: proxy.credentials as string, refreshMarginMs: 5 * 60_000 });
      await soon();
      await soon(); // expiry (2 min) is inside the 5-minute margin: fetches again
      expect(calls).toBeGreaterThanOrEqual(2);
    } finally {
      await proxy.close();
    }
  });

  it('tells the enclave clearly when the parent has no credentials', async () => {
    const proxy = await startProxy(
      configFromValues({ routes: [{ listen: 'tcp:127.0.0.1:0', upstream: 'kms.us-east-1.amazonaws.com:443' }], credentials: { listen: 'tcp:127.0.0.1:0' } }),
      {
        credentialProvider: async () => {
          throw new Error('no IMDS here');
        },
      },
    );
    try {
      await expect(fetchParentCredentials(proxy.credentials as string)).rejects.toMatchObject({
        code: 'ERR_CREDENTIALS_UNAVAILABLE',
        message: expect.stringContaining('no credentials'),
      });
    } finally {
      await proxy.close();
    }
    await expect(fetchParentCredentials('tcp:127.0.0.1:1', 500)).rejects.toMatchObject({ code: 'ERR_CREDENTIALS_UNAVAILABLE' });
  });
});

describe('the credentials route is not exposed', () => {
  const routes = [{ listen: 'tcp:127.0.0.1:0', upstream: 'kms.us-east-1.amazonaws.com:443' }];

  it('refuses to listen anywhere but vsock, a Unix socket or loopback TCP', () => {
    for (const listen of ['tcp:0.0.0.0:0', 'tcp:10.0.0.5:8002', 'tcp:[::]:8002']) {
      expect(() => configFromValues({ routes, credentials: { listen } }), listen).toThrow(
        expect.objectContaining({ code: 'ERR_PROXY_CONFIG', message: expect.stringContaining('secret key') }),
      );
    }
    expect(() => configFromValues({ routes, credentials: { listen: 'tcp:127.0.0.1:0', allowedCids: [16] } })).toThrow(/vsock only/);
    expect(configFromValues({ routes, credentials: { listen: 'vsock:4294967295:8002', allowedCids: [16] } }).credentials).toMatchObject({ allowedCids: [16] });
  });

  it('logs every hand-out with the peer and access key id (never the secret), and closes the connection itself', async () => {
    const logs: string[] = [];
    const proxy = await startProxy(configFromValues({ routes, credentials: { listen: 'tcp:127.0.0.1:0' } }), {
      credentialProvider: async () => ({ accessKeyId: 'ASIAHANDOUT', secretAccessKey: SECRET }),
      log: (level, msg, fields) => logs.push(JSON.stringify({ level, msg, ...fields })),
    });
    try {
      // A caller that never ends its side: the proxy answers and closes anyway.
      const [, host, port] = /^tcp:(.+):(\d+)$/.exec(proxy.credentials as string) ?? [];
      const socket = connect({ host: host as string, port: Number(port), allowHalfOpen: true });
      let answer = '';
      socket.on('data', (d: Buffer) => {
        answer += d.toString();
      });
      await new Promise((r) => socket.once('end', r)); // the proxy's FIN, though this side never ended
      socket.destroy();
      expect(JSON.parse(answer)).toMatchObject({ AccessKeyId: 'ASIAHANDOUT' });
      const handout = logs.find((l) => l.includes('credentials handed out')) as string;
      expect(JSON.parse(handout)).toMatchObject({ peer: expect.stringMatching(/^tcp:127\.0\.0\.1:\d+$/), accessKeyId: 'ASIAHANDOUT' });
      expect(logs.join('\n')).not.toContain(SECRET);
    } finally {
      await proxy.close();
    }
  });

  it('has its own connection cap: a flood of idle callers cannot pile up', async () => {
    let release: () => void = () => undefined;
    const stuck = new Promise<void>((r) => {
      release = r;
    });
    const proxy = await startProxy(configFromValues({ routes, credentials: { listen: 'tcp:127.0.0.1:0', maxConnections: 2 } }), {
      credentialProvider: async () => {
        await stuck;
        return { accessKeyId: 'ASIACAP', secretAccessKey: SECRET };
      },
    });
    try {
      const [, host, port] = /^tcp:(.+):(\d+)$/.exec(proxy.credentials as string) ?? [];
      const open = () => connect({ host: host as string, port: Number(port) }).resume();
      const held = [open(), open()];
      await new Promise((r) => setTimeout(r, 100));
      const third = open();
      await new Promise((r) => third.once('close', r));
      expect(proxy.metricsRegistry.get('nitro_proxy_credentials_refused_total', { reason: 'limit' })).toBe(1);
      release();
      await Promise.all(held.map((s) => new Promise((r) => s.once('close', r))));
    } finally {
      await proxy.close();
    }
  });
});

describe('nitro-parent-proxy, the command', () => {
  it('prints one ready line with bound addresses, logs connections as JSON lines, and stops cleanly on SIGTERM', async () => {
    const upstream = await tcpServer((s) => s.end('hi'));
    const proxy = await spawnProxy(['--route', `tcp:127.0.0.1:0=127.0.0.1:${upstream.port}`, '--allow', `127.0.0.1:${upstream.port}`]);
    expect(proxy.ready.routes[0]?.listen).toMatch(/^tcp:127\.0\.0\.1:[1-9]\d*$/);
    const { connectTo } = await import('@nitro-datakey/native');
    const c = await connectTo(proxy.ready.routes[0]?.listen as string);
    c.end();
    await new Promise((r) => c.once('end', r).resume());
    await new Promise((r) => setTimeout(r, 100));
    const exit = new Promise<number | null>((r) => proxy.child.once('exit', r));
    proxy.child.kill('SIGTERM');
    expect(await exit).toBe(0);
    const lines = proxy
      .stderr()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.find((l) => l['msg'] === 'connection closed')).toMatchObject({
      id: 1,
      bytesUp: 0,
      bytesDown: 2,
      reason: 'done',
      durationMs: expect.any(Number),
    });
    await upstream.close();
  });

  it('refuses at start, with exit 2, a route to an upstream off the allowlist', async () => {
    const r = await run(process.execPath, [proxyBinPath(), '--route', 'tcp:127.0.0.1:0=example.com:443']).catch((e: { code: number; stderr: string }) => e);
    expect((r as { code: number }).code).toBe(2);
    expect((r as { stderr: string }).stderr).toMatch(/not on the allowlist/);
  });

  it.each([
    [[]],
    [['--route', 'nope']],
    [['--config', 'x.yaml', '--route', 'a=b:1']],
    [['--bogus']],
    [['--connect-timeout-ms', 'soon', '--route', 'tcp:127.0.0.1:0=kms.us-east-1.amazonaws.com:443']],
    [['--route', 'tcp:127.0.0.1:0=kms.us-east-1.amazonaws.com:443', '--credentials-allowed-cid', '16']],
    [['--route', 'tcp:127.0.0.1:0=kms.us-east-1.amazonaws.com:443', '--credentials', 'tcp:127.0.0.1:0', '--credentials-allowed-cid', '16']],
    [['--route', 'tcp:127.0.0.1:0=kms.us-east-1.amazonaws.com:443', '--credentials', 'tcp:127.0.0.1:0', '--credentials-allowed-uid', '0']],
    [['--route', 'tcp:127.0.0.1:0=kms.us-east-1.amazonaws.com:443', '--credentials', 'vsock:4294967295:0', '--credentials-allowed-cid', 'x']],
  ])('exits 2 on %j', async (args) => {
    let err = '';
    const io = {
      stdout: () => undefined,
      stderr: (t: string) => {
        err += t;
      },
      readStdin: async () => new Uint8Array(0),
    };
    const code = await nitroParentProxy(args, { io });
    expect(code).toBe(2);
    expect(err).toMatch(/^nitro-parent-proxy: /);
  });
});

describe('the credentials route on a Unix socket', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const socketIn = () => {
    const dir = mkdtempSync(join(tmpdir(), 'ndk-creds-'));
    dirs.push(dir);
    chmodSync(dir, 0o755); // so that another uid can reach the socket and be refused by it, not by the directory
    return join(dir, 'credentials.sock');
  };
  const provider = async (): Promise<Credentials> => ({ accessKeyId: 'ASIAUNIX', secretAccessKey: SECRET });
  const start = (path: string, allowedUids?: number[]) =>
    startProxy(
      configFromValues({
        routes: [{ listen: 'tcp:127.0.0.1:0', upstream: 'kms.us-east-1.amazonaws.com:443' }],
        credentials: { listen: `unix:${path}`, ...(allowedUids ? { allowedUids } : {}) },
      }),
      { credentialProvider: provider },
    );
  /** What a client running as uid 65534 reads from the socket (needs root to switch uid). */
  const readAsNobody = (path: string) =>
    run(
      process.execPath,
      [
        '-e',
        `const s = require('net').connect(${JSON.stringify(path)}); let t = ''; s.on('data', (d) => (t += d));
      s.on('close', () => console.log(JSON.stringify(t))); s.on('error', (e) => { console.log(JSON.stringify(e.code)); process.exit(0); });`,
      ],
      { uid: 65534, gid: 65534 },
    ).then((r) => JSON.parse(r.stdout) as string);

  it("is created 0600 whatever the umask, and serves the proxy's own uid", async () => {
    const path = socketIn();
    const umask = process.umask(0);
    let proxy: Awaited<ReturnType<typeof start>> | undefined;
    try {
      proxy = await start(path);
    } finally {
      process.umask(umask);
    }
    try {
      expect(statSync(path).mode & 0o777).toBe(0o600);
      expect((await fetchParentCredentials(proxy.credentials as string)).accessKeyId).toBe('ASIAUNIX');
    } finally {
      await proxy.close();
    }
  });

  it.skipIf(process.getuid?.() !== 0)(
    'refuses another uid by its peer credentials even when the file mode lets it connect (needs root to switch uid)',
    async () => {
      const path = socketIn();
      const proxy = await start(path, [0]);
      try {
        // The file is 0600: uid 65534 cannot even connect.
        expect(await readAsNobody(path)).toBe('EACCES');
        chmodSync(path, 0o666); // as a careless umask or chmod would leave it: the peer check still refuses
        expect(await readAsNobody(path)).toBe('');
        expect(proxy.metricsRegistry.get('nitro_proxy_credentials_refused_total', { reason: 'uid-not-allowed' })).toBe(1);
      } finally {
        await proxy.close();
      }
    },
  );

  it.skipIf(process.getuid?.() !== 0)('serves a uid listed in allowedUids, and the mode lets it connect (needs root to switch uid)', async () => {
    const path = socketIn();
    const proxy = await start(path, [0, 65534]);
    try {
      expect(statSync(path).mode & 0o777).toBe(0o666);
      expect(await readAsNobody(path)).toContain('ASIAUNIX');
    } finally {
      await proxy.close();
    }
  });

  it('eif/proxy.yaml lets only the enclave (CID 16) ask for credentials and for its envelopes', async () => {
    const config = await loadConfigFile(join(projectRoot(), 'eif', 'proxy.yaml'));
    expect(config.credentials?.allowedCids).toEqual([16]);
    expect(config.secrets).toMatchObject({ allowedCids: [16], listen: { kind: 'vsock', port: 8003 } });
    expect(config.telemetry).toMatchObject({ allowedCids: [16], listen: { kind: 'vsock', port: 8004 }, output: 'stdout' });
  });
});
