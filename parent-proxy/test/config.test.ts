import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { configFromValues, loadConfigFile, parseConfigText, ProxyConfigError, startProxy } from '@nitro-datakey/parent-proxy';

function error(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ProxyConfigError);
    expect((e as ProxyConfigError).code).toBe('ERR_PROXY_CONFIG');
    return (e as Error).message;
  }
  throw new Error('expected a ProxyConfigError');
}

const GOOD = `# parent proxy for us-west-2
region: us-west-2
routes:
  - listen: vsock:4294967295:8000
    upstream: kms.us-west-2.amazonaws.com:443
    maxConnections: 500
credentials:
  listen: vsock:4294967295:8002
metrics:
  listen: tcp:127.0.0.1:9100
limits:
  connectTimeoutMs: 3000
`;

describe('proxy configuration', () => {
  it("reads YAML with defaults filled in, the region's KMS endpoint allowlisted", () => {
    const c = parseConfigText(GOOD, 'proxy.yaml');
    expect(c.region).toBe('us-west-2');
    expect(c.allow).toEqual(['kms.us-west-2.amazonaws.com:443']);
    expect(c.routes[0]).toEqual({
      listen: { kind: 'vsock', cid: 4294967295, port: 8000 },
      upstream: { host: 'kms.us-west-2.amazonaws.com', port: 443 },
      maxConnections: 500,
    });
    expect(c.limits).toEqual({ maxConnections: 4096, connectTimeoutMs: 3000, idleTimeoutMs: 300000, shutdownGraceMs: 10000 });
    expect(c.credentials?.listen).toEqual({ kind: 'vsock', cid: 4294967295, port: 8002 });
  });

  it('reads JSON, from a file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ndk-cfg-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, 'proxy.json');
    writeFileSync(path, JSON.stringify({ routes: [{ listen: 'tcp:127.0.0.1:8000', upstream: 'kms.us-east-1.amazonaws.com:443' }] }));
    expect((await loadConfigFile(path)).routes).toHaveLength(1);
    await expect(loadConfigFile(join(dir, 'missing.yaml'))).rejects.toThrow(/cannot read .*ENOENT/);
  });

  it('refuses an upstream off the allowlist, naming it and its line', () => {
    const text = GOOD.replace('upstream: kms.us-west-2.amazonaws.com:443', 'upstream: evil.example.com:443');
    expect(error(() => parseConfigText(text, 'proxy.yaml'))).toMatch(
      /^proxy\.yaml:5 at routes\[0\]\.upstream: upstream evil\.example\.com:443 is not on the allowlist/,
    );
    // Another region's KMS is not this proxy's either.
    expect(error(() => parseConfigText(GOOD.replace('us-west-2.amazonaws', 'us-east-1.amazonaws'), 'proxy.yaml'))).toMatch(/not on the allowlist/);
    // ...unless the operator allows it explicitly.
    expect(parseConfigText(`${text}allow:\n  - evil.example.com:443\n`, 'proxy.yaml').routes[0]?.upstream.host).toBe('evil.example.com');
    expect(error(() => configFromValues({ routes: [{ listen: 'tcp:127.0.0.1:1', upstream: '10.0.0.1:443' }] }))).toMatch(
      /^flags at routes\[0\]\.upstream: upstream 10\.0\.0\.1:443 is not on the allowlist/,
    );
  });

  it('names unknown keys and their lines', () => {
    expect(error(() => parseConfigText(`${GOOD}verbose: true\n`, 'proxy.yaml'))).toBe(
      'proxy.yaml:13: unknown key "verbose" (known: region, fips, routes, allow, credentials, secrets, telemetry, metrics, limits)',
    );
    expect(error(() => parseConfigText(GOOD.replace('    maxConnections: 500', '    maxConnection: 500'), 'p.yaml'))).toMatch(
      /^p\.yaml:6: unknown key "routes\[0\]\.maxConnection"/,
    );
    expect(error(() => parseConfigText(GOOD.replace('  connectTimeoutMs: 3000', '  connectTimeout: 3000'), 'p.yaml'))).toMatch(
      /^p\.yaml:12: unknown key "limits\.connectTimeout"/,
    );
  });

  it.each([
    ['a YAML syntax error', 'routes:\n  - listen: [unclosed\n', /^p\.yaml:\d+:\d+: /],
    ['a duplicate key', 'region: us-east-1\nregion: us-west-2\nroutes: []\n', /^p\.yaml:2:\d+: Map keys must be unique/],
    ['no routes', 'region: us-east-1\n', /routes: at least one route is required/],
    ['an empty routes list', 'routes: []\n', /at least one route is required/],
    [
      'a bad listen address',
      'routes:\n  - listen: vsock:3\n    upstream: kms.us-east-1.amazonaws.com:443\n',
      /^p\.yaml:2 at routes\[0\]\.listen: invalid vsock address/,
    ],
    ['a bad region', 'region: mars-1\nroutes: []\n', /^p\.yaml:1 at region: region "mars-1" is not an AWS region name/],
    [
      'a limit out of range',
      'routes:\n  - listen: tcp:127.0.0.1:1\n    upstream: kms.us-east-1.amazonaws.com:443\nlimits:\n  maxConnections: 0\n',
      /^p\.yaml:5 at limits\.maxConnections: expected an integer from 1/,
    ],
    [
      'metrics off loopback',
      'routes:\n  - listen: tcp:127.0.0.1:1\n    upstream: kms.us-east-1.amazonaws.com:443\nmetrics:\n  listen: tcp:0.0.0.0:9100\n',
      /metrics must listen on a loopback TCP address/,
    ],
    [
      'the same listen address twice',
      [
        'routes:',
        '  - listen: tcp:127.0.0.1:5',
        '    upstream: kms.us-east-1.amazonaws.com:443',
        '  - listen: tcp:127.0.0.1:5',
        '    upstream: kms.us-east-1.amazonaws.com:443',
        '',
      ].join('\n'),
      /^p\.yaml:4 at routes\[1\]\.listen: this listen address is used twice/,
    ],
    ['a list at the top', '- a\n- b\n', /expected an object/],
    ['an upstream without a port', 'routes:\n  - listen: tcp:127.0.0.1:1\n    upstream: kms.us-east-1.amazonaws.com\n', /is not HOST:PORT/],
  ])('refuses %s', (_n, text, message) => {
    expect(error(() => parseConfigText(text, 'p.yaml'))).toMatch(message);
  });
});

describe('Unix listeners take only what is theirs', () => {
  it('a route on a path holding a regular file or a live socket refuses to start; a stale socket is replaced', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ndk-unix-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const route = (path: string) => configFromValues({ routes: [{ listen: `unix:${path}`, upstream: 'kms.us-east-1.amazonaws.com:443' }] });
    const file = join(dir, 'file.sock');
    writeFileSync(file, 'not a socket');
    await expect(startProxy(route(file))).rejects.toMatchObject({ code: 'ERR_UNIX_SOCKET_PATH' });
    expect(readFileSync(file, 'utf8')).toBe('not a socket');
    const live = join(dir, 'live.sock');
    const first = await startProxy(route(live));
    try {
      await expect(startProxy(route(live))).rejects.toMatchObject({ code: 'ERR_UNIX_SOCKET_PATH', message: expect.stringContaining('in use') });
    } finally {
      await first.close();
    }
    const stale = join(dir, 'stale.sock');
    spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(stale)}, () => process.kill(process.pid, 'SIGKILL'))`]);
    expect(statSync(stale).isSocket()).toBe(true);
    const again = await startProxy(route(stale));
    await again.close();
  });
});

describe('the default allowlist and upstream names', () => {
  it('allows the FIPS endpoint only when asked (--fips / fips: true)', () => {
    const plain = configFromValues({ region: 'eu-west-1', routes: [{ listen: 'tcp:127.0.0.1:0', upstream: 'kms.eu-west-1.amazonaws.com:443' }] });
    expect(plain.allow).toEqual(['kms.eu-west-1.amazonaws.com:443']);
    expect(() => configFromValues({ region: 'eu-west-1', routes: [{ listen: 'tcp:127.0.0.1:0', upstream: 'kms-fips.eu-west-1.amazonaws.com:443' }] })).toThrow(
      /not on the allowlist/,
    );
    const fips = configFromValues({
      region: 'eu-west-1',
      fips: true,
      routes: [{ listen: 'tcp:127.0.0.1:0', upstream: 'kms-fips.eu-west-1.amazonaws.com:443' }],
    });
    expect(fips.allow).toEqual(['kms.eu-west-1.amazonaws.com:443', 'kms-fips.eu-west-1.amazonaws.com:443']);
    expect(() => parseConfigText('fips: yes-please\nroutes: []\n', 'proxy.yaml')).toThrow(/fips: expected true or false/);
  });

  it('says at start which upstream name does not resolve (and still starts)', async () => {
    const lines: string[] = [];
    const proxy = await startProxy(
      configFromValues({
        allow: ['no-such-host.invalid:443', '127.0.0.1:1'],
        routes: [
          { listen: 'tcp:127.0.0.1:0', upstream: 'no-such-host.invalid:443' },
          { listen: 'tcp:127.0.0.1:0', upstream: '127.0.0.1:1' },
        ],
      }),
      { log: (level, msg, fields) => lines.push(JSON.stringify({ level, msg, ...fields })) },
    );
    await proxy.close();
    const warnings = lines.filter((l) => l.includes('upstream does not resolve'));
    expect(warnings).toHaveLength(1);
    expect(JSON.parse(warnings[0] as string)).toMatchObject({ level: 'warn', upstream: 'no-such-host.invalid' });
  });
});
