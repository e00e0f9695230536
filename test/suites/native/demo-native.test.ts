import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nativeEmulation, projectRoot } from '../../support/index.js';

/* "make demo-native" in CI: the whole flow with the real addon on both sides over the emulated kernel. */
const emulation = nativeEmulation();
const built = 'shim' in emulation ? emulation : undefined;
const skip = 'skip' in emulation ? ` (${emulation.skip})` : '';

describe('make demo-native', () => {
  it.skipIf(!built)(
    `runs to the end: NSM by ioctl, proxy by vsock connect and accept, CIDs seen by each side${skip}`,
    () => {
      const script = join(projectRoot(), 'test/dist/native/demo-native.js');
      const r = spawnSync(process.execPath, [script, '--shim', built?.shim as string, '--app', join(projectRoot(), 'eif/example/app.mjs')], {
        encoding: 'utf8',
        timeout: 90_000,
      });
      expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
      expect(r.stderr).toBe('');
      expect(r.stdout).not.toMatch(/FAIL/);
      expect(r.stdout).toMatch(/credentials to vsock:16 \(\d+x\); CID 17 refused/);
      expect(r.stdout).toMatch(/\d+ ioctls \(.*Attestation.*\)/);
      expect(r.stdout).toMatch(/[1-9]\d* attested calls \(.*GenerateDataKey.*\), all from that module/);
      expect(r.stdout).toMatch(/read a \d+-byte secret, got a 32-byte data key/);
      const dir = /work directory (\S+)\)/.exec(r.stdout)?.[1] as string;
      expect(existsSync(dir)).toBe(false);
    },
    120_000,
  );

  it('says what it needs when run without its arguments or with an unknown one (exit 2), and has --help', () => {
    const script = join(projectRoot(), 'test/dist/native/demo-native.js');
    const bare = spawnSync(process.execPath, [script], { encoding: 'utf8' });
    expect(bare.status).toBe(2);
    expect(bare.stderr).toContain('--shim and --app are required');
    const unknown = spawnSync(process.execPath, [script, '--frob'], { encoding: 'utf8' });
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/^demo-native: .*--frob/);
    const help = spawnSync(process.execPath, [script, '--help'], { encoding: 'utf8' });
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^Usage: /);
  });
});
