import { spawn, spawnSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NitroPki, SimulatedNsm, serveNsmDevice } from '@nitro-datakey/devkit';
import { AttestationVerifier } from '@nitro-datakey/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kernelShimEnv, nativeEmulation } from '../../support/index.js';

/*
 * The LD_PRELOAD stand-in for the kernel (test/native): held to the real kernel where that is safe
 * (bind, listen, names: local calls), to af_vsock.c's answers where it is not (connect, accept), and
 * driven through the real addon for both vsock and the NSM ioctl.
 */
const emulation = nativeEmulation();
const built = 'shim' in emulation ? emulation : undefined;
const skip = 'skip' in emulation ? ` (${emulation.skip})` : '';
const hasVsock = existsSync('/dev/vsock');
const noVsock = hasVsock ? '' : ' (skipped: this kernel has no AF_VSOCK (/dev/vsock is missing), so there is no oracle to compare with)';
const network = () => `test-${process.pid}-${randomBytes(4).toString('hex')}`;

/** Runs an ES module in a child under the shim; resolves with its stdout when it exits 0. */
function child(script: string, env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--input-type=module', '-e', script], { env, cwd: process.cwd() });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    p.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    p.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`child exited ${code}: ${err}`))));
  });
}

function probe(args: string[], env: NodeJS.ProcessEnv): Record<string, unknown> {
  const r = spawnSync(built?.vsockProbe as string, args, { env, encoding: 'utf8', timeout: 10_000 });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

describe('emulated AF_VSOCK', () => {
  it.skipIf(!built || !hasVsock)(`answers bind, listen and name calls exactly as this machine's kernel does${skip}${noVsock}`, () => {
    const shim = built?.shim as string;
    const port = String(randomInt(20_000, 60_000));
    // The real kernel runs only the local calls ("bind-only" never connects); its local CID is 3 here.
    const real = probe([port, 'bind-only'], { ...process.env, LD_PRELOAD: '' });
    const emulated = probe([port, 'bind-only'], kernelShimEnv({ shim, network: network(), cid: 3 }));
    expect(real['bind']).toBe('ok');
    expect(emulated).toEqual(real);
    expect(emulated).toMatchObject({ bindShort: 'EINVAL', bindWrongFamily: 'EINVAL', bindUnknownFlag: 'EINVAL', bindForeignCid: 'EADDRNOTAVAIL' });
  });

  it.skipIf(!built)(`connects and accepts as af_vsock.c does: peer (cid, port) is the caller's own, no listener is a reset${skip}`, () => {
    const out = probe([String(randomInt(20_000, 60_000))], kernelShimEnv({ shim: built?.shim as string, network: network(), cid: 16 }));
    expect(out).toMatchObject({
      connectNoListener: 'ECONNRESET',
      connectLocal: 'ok',
      connectAgain: 'EISCONN',
      dgram: 'ESOCKTNOSUPPORT',
      protocol: 'EPROTONOSUPPORT',
    });
    const accepted = out['accept'] as { result: string; peerCid: number; peerPort: number; clientPort: number; length: number };
    expect(accepted).toMatchObject({ result: 'ok', peerCid: 16, length: 16 });
    expect(accepted.peerPort).toBe(accepted.clientPort);
    expect(accepted.clientPort).toBeGreaterThan(1023);
  });

  it.skipIf(!built)(`the probe refuses to connect without the shim, so no real AF_VSOCK connect() can leave the machine${skip}`, () => {
    const r = spawnSync(built?.vsockProbe as string, ['20000'], { encoding: 'utf8', env: { ...process.env, LD_PRELOAD: '' } });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('refusing to connect()');
  });

  it.skipIf(!built)(`never creates a real vsock socket: without a valid CID the addon's socket() fails EAFNOSUPPORT${skip}`, async () => {
    for (const cid of [undefined, '', 'abc', '-1', '4294967296', '3x']) {
      const env = kernelShimEnv({ shim: built?.shim as string, network: network() });
      if (cid !== undefined) env['NITRO_EMU_VSOCK_CID'] = cid;
      const out = await child(
        `import { loadNativeAddon } from '@nitro-datakey/native';
         try { loadNativeAddon().vsockSocket(); console.log('created'); } catch (e) { console.log(e.code); }`,
        env,
      );
      expect(out.trim(), String(cid)).toBe('EAFNOSUPPORT');
    }
  });

  it.skipIf(!built)(`carries the addon's VsockServer and connectVsock between two processes on two CIDs${skip}`, async () => {
    const shim = built?.shim as string;
    const net = network();
    const server = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { VsockServer } from '@nitro-datakey/native';
         const s = new VsockServer();
         const fixed = s.listen(5005);
         const any = new VsockServer(); const auto = any.listen(); any.close();
         console.log(JSON.stringify({ fixed, auto }));
         s.on('connection', (c) => c.on('data', (d) => { c.end(JSON.stringify({ peer: c.remoteAddress, got: String(d) })); s.close(); }));`,
      ],
      { env: kernelShimEnv({ shim, network: net, cid: 3 }), cwd: process.cwd() },
    );
    const listening = await new Promise<{ fixed: { cid: number; port: number }; auto: { cid: number; port: number } }>((resolve) =>
      server.stdout.once('data', (d: Buffer) => resolve(JSON.parse(d.toString()))),
    );
    expect(listening.fixed).toEqual({ cid: 0xffffffff, port: 5005 });
    expect(listening.auto.port).toBeGreaterThan(1023);
    const reply = await child(
      `import { connectVsock, loadNativeAddon } from '@nitro-datakey/native';
       const c = await connectVsock(3, 5005, { timeoutMs: 5000 });
       let text = '';
       c.on('data', (d) => { text += d; });
       c.on('end', () => console.log(JSON.stringify({ reply: JSON.parse(text), cid: loadNativeAddon().vsockLocalCid() })));
       c.end('hello over vsock');
       await connectVsock(3, 5999).catch((e) => console.error(e.code));`,
      kernelShimEnv({ shim, network: net, cid: 16 }),
    );
    const { reply: answer, cid } = JSON.parse(reply) as { reply: { peer: { cid: number; port: number }; got: string }; cid: number };
    expect(cid).toBe(16);
    expect(answer.got).toBe('hello over vsock');
    expect(answer.peer.cid).toBe(16);
    expect(answer.peer.port).toBeGreaterThan(1023);
    await new Promise((r) => (server.exitCode === null ? server.once('exit', r) : r(undefined)));
  });
});

describe('emulated /dev/nsm', () => {
  let dir: string;
  let pki: NitroPki;
  let device: Awaited<ReturnType<typeof serveNsmDevice>>;
  let nsm: SimulatedNsm;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'nsm-device-'));
    pki = await NitroPki.create();
    nsm = await SimulatedNsm.boot({ pki });
    device = await serveNsmDevice(nsm, join(dir, 'nsm.sock'));
  });
  afterAll(async () => {
    await device?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it.skipIf(!built)(`answers the addon's ioctl with the simulator's bytes, concurrent calls included${skip}`, async () => {
    const out = await child(
      `import { openNsmDevice } from '@nitro-datakey/native';
       const nsm = openNsmDevice();
       const described = await nsm.describe();
       const docs = await Promise.all([0, 1, 2, 3, 4, 5, 6, 7].map((i) => nsm.attest({ nonce: new Uint8Array([i]) })));
       console.log(JSON.stringify({ moduleId: described.moduleId, docs: docs.map((d) => Buffer.from(d).toString('base64')) }));`,
      kernelShimEnv({ shim: built?.shim as string, network: network(), nsmSocket: device.path }),
    );
    const { moduleId, docs } = JSON.parse(out) as { moduleId: string; docs: string[] };
    expect(moduleId).toBe(nsm.moduleId);
    const verifier = new AttestationVerifier({ trustedRootFingerprints: [pki.rootFingerprint] });
    docs.forEach((d, i) => {
      expect(verifier.verify(new Uint8Array(Buffer.from(d, 'base64')), { nonce: new Uint8Array([i]) }).moduleId).toBe(nsm.moduleId);
    });
    expect(device.served()).toMatchObject({ DescribeNSM: 1, Attestation: 8 });
  });

  it.skipIf(!built)(`fails a call with ERR_NSM_DEVICE_IO when the device does not answer, and is absent without the emulator${skip}`, async () => {
    const script = `import { openNsmDevice } from '@nitro-datakey/native';
       try { const nsm = openNsmDevice(); await nsm.describe(); console.log('answered'); } catch (e) { console.log(e.code); }`;
    expect((await child(script, kernelShimEnv({ shim: built?.shim as string, network: network(), nsmSocket: join(dir, 'nobody-here.sock') }))).trim()).toBe(
      'ERR_NSM_DEVICE_IO',
    );
    expect((await child(script, kernelShimEnv({ shim: built?.shim as string, network: network() }))).trim()).toBe('ERR_NSM_DEVICE_UNAVAILABLE');
  });
});
