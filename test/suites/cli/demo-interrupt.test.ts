import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../support/index.js';

/** Processes whose command line mentions `text` (Linux /proc). */
function processesMentioning(text: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(join('/proc', entry, 'cmdline'), 'utf8').includes(text)) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

const until = async (check: () => boolean, ms: number) => {
  const end = Date.now() + ms;
  while (!check() && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  return check();
};

describe('make demo, interrupted', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)(
    '%s to the demo alone stops its children and removes its work directory',
    async (signal) => {
      const demo = spawn(process.execPath, [join(projectRoot(), 'test/devkit/dist/demo/main.js')], { stdio: ['ignore', 'pipe', 'pipe'] });
      const first = await new Promise<string>((resolve) => createInterface({ input: demo.stdout }).once('line', resolve));
      const dir = /work directory (\S+)\)/.exec(first)?.[1] as string;
      expect(dir).toMatch(/nitro-datakey-demo-/);
      // Wait until its children run (the local KMS and the proxy mention the work directory).
      expect(await until(() => processesMentioning(dir).length >= 1, 20_000)).toBe(true);
      const exited = new Promise<number | null>((r) => demo.once('exit', (code) => r(code)));
      demo.kill(signal);
      expect(await exited).toBe(signal === 'SIGINT' ? 130 : 143);
      expect(await until(() => processesMentioning(dir).length === 0, 5_000)).toBe(true);
      expect(existsSync(dir)).toBe(false);
    },
    60_000,
  );
});

describe('make demo, run to the end', () => {
  it('exits 0, prints its report on stdout and nothing on stderr', async () => {
    const r = spawnSync(process.execPath, [join(projectRoot(), 'test/devkit/dist/demo/main.js')], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/refused: a KMS that answers with Plaintext/);
    // Both refusals, as the local KMS's audit trail and its query command show them.
    expect(r.stdout).toMatch(/both refusals are in the local KMS audit trail .* 1 denied, 1 answered with Plaintext/);
    expect(r.stdout).toMatch(/GenerateDataKey .* AccessDeniedException \(ImplicitDeny\)/);
    expect(r.stdout).toMatch(/GenerateDataKey .* injectedFault plaintext, refused by the client \(ERR_KMS_PLAINTEXT_IN_RESPONSE\)/);
    expect(r.stdout).not.toMatch(/FAIL/);
  }, 90_000);
});
