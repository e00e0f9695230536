import { spawn } from 'node:child_process';
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

/** Runs the demo to its end; its stdout lines with the time each arrived, its stderr and exit status. */
async function runDemoLive(): Promise<{ lines: { text: string; at: number }[]; stderr: string; status: number | null; exitedAt: number }> {
  const demo = spawn(process.execPath, [join(projectRoot(), 'test/devkit/dist/demo/main.js')], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: { text: string; at: number }[] = [];
  let stderr = '';
  createInterface({ input: demo.stdout }).on('line', (text) => lines.push({ text, at: Date.now() }));
  demo.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const status = await new Promise<number | null>((resolve) => demo.once('close', (code) => resolve(code)));
  return { lines, stderr, status, exitedAt: Date.now() };
}

describe('make demo, run to the end', () => {
  it('exits 0, prints each step as it starts and ends, its report on stdout and nothing on stderr', async () => {
    const r = await runDemoLive();
    const stdout = r.lines.map((l) => l.text).join('\n');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    // Live: the first step's start and end lines come before the second step starts, and long before the end.
    const starts = r.lines.filter((l) => l.text.startsWith('  ..    '));
    const ends = r.lines.filter((l) => l.text.startsWith('  ok    '));
    expect(starts.length).toBeGreaterThanOrEqual(10);
    expect(ends).toHaveLength(starts.length);
    const kinds = r.lines.map((l) => (l.text.startsWith('  ..    ') ? 'start' : l.text.startsWith('  ok    ') ? 'end' : 'other')).filter((k) => k !== 'other');
    expect(kinds.slice(0, 4)).toEqual(['start', 'end', 'start', 'end']);
    expect((ends[0] as { at: number }).at).toBeLessThan(r.exitedAt - 1000);
    expect(stdout).toMatch(new RegExp(`\\n${ends.length} steps ok in \\d+\\.\\d s`));
    expect(stdout).toMatch(/refused: a KMS that answers with Plaintext/);
    // Both refusals, as the local KMS's audit trail and its query command show them.
    expect(stdout).toMatch(/both refusals are in the local KMS audit trail .* 1 denied, 1 answered with Plaintext/);
    expect(stdout).toMatch(/GenerateDataKey .* AccessDeniedException \(ImplicitDeny\)/);
    expect(stdout).toMatch(/GenerateDataKey .* ok, injected fault: plaintext/);
    expect(stdout).toMatch(/audit --injected --format table .*ERR_KMS_PLAINTEXT_IN_RESPONSE/);
    // The audit trail as a table (issue 25), not raw CloudTrail JSON.
    expect(stdout).toMatch(/TIME +OPERATION +PRINCIPAL +PCR0 +OUTCOME/);
    expect(stdout).not.toMatch(/"eventVersion"/);
    // The key policy as its summary, not 4 raw statements.
    expect(stdout).toMatch(/as `nitro-datakey policy --summary` prints it:\n {4}4 statement\(s\)/);
    expect(stdout).toMatch(/ImageSha384 \(PCR0\) +[0-9a-f]{96}/);
    expect(stdout).not.toMatch(/FAIL/);
  }, 90_000);
});
