import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { loadEnclaveConfig, parseEnclaveConfig } from '@nitro-datakey/enclave';

const KEY = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const base = { region: 'us-east-1', kms: { transport: 'vsock:3:8000' }, credentials: { transport: 'vsock:3:8002' } };
const configError = (text: string | RegExp) => expect.objectContaining({ code: 'ERR_ENCLAVE_CONFIG', message: expect.stringMatching(text) });

describe('enclave config', () => {
  it('reads the minimal config, with addresses parsed', () => {
    const c = parseEnclaveConfig(base);
    expect(c.kms.transport).toEqual({ kind: 'vsock', cid: 3, port: 8000 });
    expect(c.credentials.transport).toEqual({ kind: 'vsock', cid: 3, port: 8002 });
    expect(c.gateway).toBeUndefined();
  });

  it('reads every section', () => {
    const c = parseEnclaveConfig({
      ...base,
      kms: { transport: 'vsock:3:8000', endpoint: 'https://kms.us-east-1.amazonaws.com', serverName: 'kms.us-east-1.amazonaws.com', requestTimeoutMs: 5000 },
      keys: { maxUses: 10, maxAgeMs: 60000, poolSize: 4 },
      dataKeyCache: { maxAgeMs: 1000, maxUses: 5, maxBytes: 4096 },
      secrets: { dir: '/run/secrets', items: [{ name: 'db-password', envelope: '/app/db.sealed.json', keyId: KEY, encryptionContext: { app: 'db' } }] },
      gateway: { listen: 'unix:/run/kms.sock' },
    });
    expect(c.keys).toEqual({ maxUses: 10, maxAgeMs: 60000, poolSize: 4 });
    expect(c.secrets?.items[0]?.encryptionContext).toEqual({ app: 'db' });
    expect(c.gateway?.listen).toEqual({ kind: 'unix', path: '/run/kms.sock' });
  });

  it('reads run-time secrets: items without an envelope come from secrets.route, with a floor and a notify signal', () => {
    const c = parseEnclaveConfig({
      ...base,
      secrets: {
        dir: '/run/secrets',
        route: 'vsock:3:8003',
        refreshIntervalMs: 30000,
        notifySignal: 'SIGHUP',
        items: [{ name: 'db-password', keyId: KEY, minVersion: 3 }],
      },
    });
    expect(c.secrets?.route).toEqual({ kind: 'vsock', cid: 3, port: 8003 });
    expect(c.secrets?.items[0]).toEqual({ name: 'db-password', keyId: KEY, minVersion: 3 });
    const items = [{ name: 'db-password', keyId: KEY }];
    expect(() => parseEnclaveConfig({ ...base, secrets: { dir: '/run/s', items } })).toThrow(
      configError(/secrets\.items\[0\]\.envelope: give the envelope file, or secrets\.route/),
    );
    expect(() => parseEnclaveConfig({ ...base, secrets: { dir: '/run/s', route: 'vsock:3:8003', notifySignal: 'SIGKILL', items } })).toThrow(
      configError(/notifySignal/),
    );
    expect(() => parseEnclaveConfig({ ...base, secrets: { dir: '/run/s', route: 'vsock:3:8003', items: [{ ...items[0], minVersion: 0 }] } })).toThrow(
      configError(/minVersion/),
    );
    expect(() => parseEnclaveConfig({ ...base, secrets: { dir: '/run/s', route: 'vsock:3:8003', refreshIntervalMs: 10, items } })).toThrow(
      configError(/refreshIntervalMs/),
    );
  });

  it('reads the workload command of "run", a list with no shell', () => {
    expect(parseEnclaveConfig({ ...base, run: { command: ['/usr/local/bin/node', '/app/server.js'] } }).run).toEqual({
      command: ['/usr/local/bin/node', '/app/server.js'],
    });
    expect(() => parseEnclaveConfig({ ...base, run: { command: 'node server.js' } })).toThrow(configError(/run\.command: a non-empty list/));
    expect(() => parseEnclaveConfig({ ...base, run: { command: [] } })).toThrow(configError(/run\.command/));
    expect(() => parseEnclaveConfig({ ...base, run: { command: ['node'], shell: true } })).toThrow(configError(/run\.shell: unknown key/));
  });

  it('has no NSM setting: the NSM is the device, or what a launcher injects', () => {
    expect(() => parseEnclaveConfig({ ...base, nsm: 'device' })).toThrow(configError(/nsm.*unknown key/));
    expect(() => parseEnclaveConfig({ ...base, nsm: { simulator: { pkiDir: '/tmp' } } })).toThrow(configError(/unknown key/));
  });

  it('refuses a gateway anyone outside the enclave could reach', () => {
    for (const listen of ['tcp:0.0.0.0:4000', 'tcp:10.0.0.1:4000', 'vsock:3:4000']) {
      expect(() => parseEnclaveConfig({ ...base, gateway: { listen } }), listen).toThrow(configError(/loopback TCP or a Unix socket only/));
    }
    expect(parseEnclaveConfig({ ...base, gateway: { listen: 'tcp:127.0.0.1:0' } }).gateway?.listen).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 0 });
  });

  it('names the key of every bad value', () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ ...base, region: '' }, /region/],
      [{ ...base, kms: { transport: 'tcp:nowhere' } }, /kms\.transport/],
      [{ ...base, keys: { maxUses: 0 } }, /keys\.maxUses/],
      [{ ...base, dataKeyCache: { maxAgeMs: 1 } }, /dataKeyCache\.maxUses: required/],
      [{ ...base, secrets: { dir: '/s', items: [{ name: '../etc', envelope: '/e', keyId: KEY }] } }, /secrets\.items\[0\]\.name/],
      [{ ...base, secrets: { dir: '/s', items: [{ name: 'a', envelope: '/e' }] } }, /secrets\.items\[0\]\.keyId/],
      [{ ...base, secrets: { dir: '/s', items: [{ name: 'a', envelope: '/e', keyId: 'alias/app' }] } }, /full key ARN, or a name in kms\.allowedKeys/],
      [{ ...base, kms: { ...base.kms, allowedKeys: { 'alias/app': 'alias/app' } } }, /kms\.allowedKeys\.alias\/app: a full key ARN/],
      [{ ...base, gateway: { listen: 'tcp:127.0.0.1:4000', allowedUids: [0] } }, /Unix socket only/],
      [
        {
          ...base,
          secrets: {
            dir: '/s',
            items: [
              { name: 'a', envelope: '/e', keyId: KEY },
              { name: 'a', envelope: '/f', keyId: KEY },
            ],
          },
        },
        /used twice/,
      ],
      [{ ...base, secrets: { dir: '/s', items: [{ name: 'a', envelope: '/e', keyId: KEY, encryptionContext: { n: 1 } }] } }, /encryptionContext/],
      [{ ...base, verbose: true }, /verbose/],
      [[], /expected an object/],
    ];
    for (const [raw, message] of cases) expect(() => parseEnclaveConfig(raw), String(message)).toThrow(configError(message));
  });

  it('loads a file, and says which when it cannot', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ndk-enclave-config-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'ok.json'), JSON.stringify(base));
    writeFileSync(join(dir, 'bad.json'), '{"region": ');
    expect((await loadEnclaveConfig(join(dir, 'ok.json'))).region).toBe('us-east-1');
    await expect(loadEnclaveConfig(join(dir, 'bad.json'))).rejects.toThrow(configError(/bad\.json: not valid JSON/));
    await expect(loadEnclaveConfig(join(dir, 'missing.json'))).rejects.toThrow(configError(/ENOENT/));
  });
});
