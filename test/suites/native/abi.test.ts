import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VMADDR_CID_ANY, VMADDR_PORT_ANY } from '@nitro-datakey/native';
import { NSM_MAX_REQUEST_BYTES } from '@nitro-datakey/shared';
import { describe, expect, it } from 'vitest';
import { nativeEmulation, projectRoot } from '../../support/index.js';

/*
 * The kernel ABI the addon assumes, held against the kernel's headers: abi-check.c fails to compile
 * on a mismatch and prints what it compared, which is held here against the TypeScript constants and
 * the facts file.
 */
const emulation = nativeEmulation();
const built = 'abiCheck' in emulation ? emulation : undefined;
const skip = 'skip' in emulation ? ` (${emulation.skip})` : '';
const abi = built ? (JSON.parse(spawnSync(built.abiCheck, { encoding: 'utf8' }).stdout) as Record<string, unknown>) : {};
const nsmSource = abi['nsmUapiFromKernelHeaders']
  ? 'the installed <linux/nsm.h>'
  : "the uapi layout declared in test/native/csrc/nsm-uapi.h, as this machine's kernel headers predate <linux/nsm.h> (Linux 6.8)";

describe("the addon's kernel ABI", () => {
  it.skipIf(!built)(`struct nsm_message and NSM_IOCTL_REQUEST are the NSM driver's nsm_raw and NSM_IOCTL_RAW, from ${nsmSource}${skip}`, () => {
    expect(abi['nsmRaw']).toEqual({ size: 32, requestAddr: 0, requestLen: 8, responseAddr: 16, responseLen: 24 });
    expect(abi['nsmMessageSize']).toBe(32);
    expect(abi['NSM_IOCTL_RAW']).toBe(0xc0200a00); // FACTS.md: _IOWR(0x0A, 0, 32)
    expect(abi['NSM_IOCTL_REQUEST']).toBe(abi['NSM_IOCTL_RAW']);
    expect(abi['NSM_REQUEST_MAX_SIZE']).toBe(NSM_MAX_REQUEST_BYTES);
    expect(abi['NSM_RESPONSE_MAX_SIZE']).toBe(0x3000);
  });

  it.skipIf(!built)(`sockaddr_vm and the vsock constants match <linux/vm_sockets.h>${skip}`, () => {
    expect(abi['sockaddrVm']).toEqual({ size: 16, family: 0, port: 4, cid: 8, flags: 12 });
    expect(abi['AF_VSOCK']).toBe(40);
    expect(abi['VMADDR_CID_ANY']).toBe(VMADDR_CID_ANY);
    expect(abi['VMADDR_PORT_ANY']).toBe(VMADDR_PORT_ANY);
    expect(abi['IOCTL_VM_SOCKETS_GET_LOCAL_CID']).toBe(0x7b9);
  });

  it.skipIf(!built)(`a wrong ioctl number in the addon's header fails the check's compile${skip}`, () => {
    const root = projectRoot();
    const dir = mkdtempSync(join(tmpdir(), 'abi-check-'));
    try {
      mkdirSync(join(dir, 'test', 'native', 'csrc'), { recursive: true });
      mkdirSync(join(dir, 'shared', 'native', 'csrc'), { recursive: true });
      for (const f of ['abi-check.c', 'nsm-uapi.h']) copyFileSync(join(root, 'test', 'native', 'csrc', f), join(dir, 'test', 'native', 'csrc', f));
      const header = readFileSync(join(root, 'shared', 'native', 'csrc', 'nsm-abi.h'), 'utf8');
      expect(header).toContain('0xC0200A00UL');
      writeFileSync(join(dir, 'shared', 'native', 'csrc', 'nsm-abi.h'), header.replace('0xC0200A00UL', '0xC0200A01UL'));
      const cc = spawnSync('cc', ['-std=c11', '-D_GNU_SOURCE', '-o', join(dir, 'abi-check'), join(dir, 'test', 'native', 'csrc', 'abi-check.c')], {
        encoding: 'utf8',
      });
      expect(cc.status).not.toBe(0);
      expect(cc.stderr).toContain("the addon's ioctl number is not NSM_IOCTL_RAW");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
