import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { nitroDatakey } from '@nitro-datakey/commands';
import { nitroEnclave } from '@nitro-datakey/enclave';

/*
 * The operator's `nitro-datakey seal` and the enclave's `nitro-enclave seal` read one command line the
 * same way (the kit's readSealRequest): the same mistake is the same usage error, exit 2, found before
 * any NSM is opened or KMS asked (the enclave's NSM here throws if it is reached).
 */
const dir = mkdtempSync(join(tmpdir(), 'ndk-seal-usage-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const file = (name: string, bytes: Uint8Array | string) => {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
};

async function both(flags: string[], stdin = new Uint8Array(0)): Promise<{ operator: [number, string]; enclave: [number, string] }> {
  const capture = () => {
    const state = { err: '' };
    const io = {
      stdout: () => undefined,
      stderr: (t: string) => {
        state.err += t;
      },
      readStdin: async () => stdin,
    };
    return { state, io };
  };
  const a = capture();
  const b = capture();
  let nsmOpened = false;
  const operator = await nitroDatakey(['seal', '--key-id', 'alias/app', ...flags], { io: a.io });
  const enclave = await nitroEnclave(['seal', '--config', join(dir, 'never-read.json'), '--key-id', 'app', ...flags], {
    io: b.io,
    openNsm: () => {
      nsmOpened = true;
      throw new Error('the NSM must not be opened for a usage error');
    },
  });
  expect(nsmOpened).toBe(false);
  return { operator: [operator, a.state.err], enclave: [enclave, b.state.err] };
}

describe('the two seal commands answer a mistake alike', () => {
  const secret = () => file('secret.txt', 'hunter2');
  it.each([
    ['a name with a path', () => ['--name', '../etc/passwd', secret()], /--name "\.\.\/etc\/passwd" must be a file name/],
    ['a hidden name', () => ['--name', '.env', secret()], /--name "\.env" must be a file name/],
    ['a context pair without =', () => ['--name', 'db', '--context', 'stage', secret()], /--context takes K=V/],
    ['the reserved context key', () => ['--name', 'db', '--context', 'nitro-datakey:secret-name=x', secret()], /is set from --name/],
    ['a version of 0', () => ['--name', 'db', '--version', '0', secret()], /--version "0" must be a whole number from 1/],
    ['a version that is not a number', () => ['--name', 'db', '--version', 'v2', secret()], /--version "v2" must be a whole number from 1/],
    ['the version context key', () => ['--name', 'db', '--context', 'nitro-datakey:secret-version=9', secret()], /is set from --version/],
    ['a missing secret file', () => ['--name', 'db', join(dir, 'nope.txt')], /cannot read .*nope\.txt: ENOENT/],
    ['an empty secret file', () => ['--name', 'db', file('empty.txt', '')], /is empty: there is no secret to seal/],
    [
      'a secret over 1 MiB',
      () => ['--name', 'db', file('big.bin', new Uint8Array(1024 * 1024 + 1))],
      /holds 1048577 bytes: a sealed secret is at most 1048576/,
    ],
    ['no secret file', () => ['--name', 'db'], /needs .*SECRET_FILE/],
  ])('%s: exit 2 from both, the same message', async (_what, flags, message) => {
    const { operator, enclave } = await both(flags());
    expect(operator[0]).toBe(2);
    expect(enclave[0]).toBe(2);
    expect(operator[1]).toMatch(message);
    expect(enclave[1]).toMatch(message);
    expect(operator[1].replace(/^nitro-datakey seal: /, '')).toBe(enclave[1].replace(/^nitro-enclave seal: /, '').replace('--config FILE, ', ''));
  });

  it('empty standard input: exit 2 from both', async () => {
    const { operator, enclave } = await both(['--name', 'db', '-']);
    expect([operator[0], enclave[0]]).toEqual([2, 2]);
    expect(operator[1]).toMatch(/standard input is empty/);
    expect(enclave[1]).toMatch(/standard input is empty/);
  });
});
