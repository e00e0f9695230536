import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '@nitro-datakey/shared';
import { loadNativeAddon, parseAddress, formatAddress, listenOn, VsockServer, connectVsock, VMADDR_CID_ANY } from '@nitro-datakey/native';

// AF_VSOCK is never connected here: there is no loopback transport, so a connect would leave the machine.
const haveVsock = existsSync('/dev/vsock');

describe.skipIf(!haveVsock)(`AF_VSOCK on this machine${haveVsock ? '' : ' (SKIPPED: no /dev/vsock)'}`, () => {
  it('creates a socket, binds VMADDR_CID_ANY on an auto-assigned port, listens, reports the port, closes', () => {
    const server = new VsockServer();
    const bound = server.listen();
    expect(bound.cid).toBe(VMADDR_CID_ANY);
    expect(bound.port).toBeGreaterThan(0);
    expect(bound.port).toBeLessThanOrEqual(0xffffffff);
    expect(server.address()).toEqual(bound);
    server.close();
    server.close(); // idempotent
  });

  it('keeps a port above 2^31 exact', () => {
    const server = new VsockServer();
    const port = 3_000_000_000 + Math.floor(Math.random() * 1_000_000);
    expect(server.listen(port).port).toBe(port);
    server.close();
  });

  it('reports the local CID', () => {
    expect(loadNativeAddon().vsockLocalCid()).toBeGreaterThanOrEqual(2);
  });

  it('refuses a port already bound with a typed error, and out-of-range values before any syscall', () => {
    const a = new VsockServer();
    const { port } = a.listen();
    const b = new VsockServer();
    expect(() => b.listen(port)).toThrow(expect.objectContaining({ code: 'EADDRINUSE', syscall: 'bind' }));
    a.close();
    expect(() => new VsockServer().listen(2 ** 32)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
    expect(() => new VsockServer().listen(-1)).toThrow(InvalidArgumentError);
    expect(() => connectVsock(3, 2 ** 32)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
  });

  it('listens through the address syntax and prints the bound address', async () => {
    const listener = await listenOn('vsock:4294967295:0', () => undefined);
    expect(listener.address).toMatch(/^vsock:4294967295:\d+$/);
    await listener.close();
  });
});

describe('the address syntax', () => {
  it.each([
    ['vsock:3:8000', { kind: 'vsock', cid: 3, port: 8000 }],
    ['vsock:4294967295:4294967295', { kind: 'vsock', cid: 4294967295, port: 4294967295 }],
    ['tcp:127.0.0.1:443', { kind: 'tcp', host: '127.0.0.1', port: 443 }],
    ['tcp:kms.us-east-1.amazonaws.com:443', { kind: 'tcp', host: 'kms.us-east-1.amazonaws.com', port: 443 }],
    ['tcp:[::1]:8080', { kind: 'tcp', host: '::1', port: 8080 }],
    ['unix:/run/proxy.sock', { kind: 'unix', path: '/run/proxy.sock' }],
  ])('parses %s', (text, parsed) => {
    expect(parseAddress(text)).toEqual(parsed);
    expect(formatAddress(parseAddress(text))).toBe(text);
  });

  it.each(['vsock:3', 'vsock:3:4294967296', 'vsock:-1:5', 'vsock:03:5', 'tcp:host', 'tcp:host:70000', 'tcp::::1:80', 'unix:', 'udp:1.2.3.4:5', '8000', ''])(
    'refuses %j with ERR_INVALID_ADDRESS',
    (text) => {
      expect(() => parseAddress(text)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ADDRESS' }));
    },
  );
});
