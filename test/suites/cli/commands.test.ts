import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../support/index.js';

// Every command, the way a user runs it: the launchers in each package's bin/.
const root = projectRoot();
const BINS: ReadonlyArray<[string, string, string]> = [
  ['nitro-datakey', 'shared/commands/bin/nitro-datakey.js', '@nitro-datakey/commands'],
  ['nitro-enclave', 'enclave/bin/nitro-enclave.js', '@nitro-datakey/enclave'],
  ['nitro-parent-proxy', 'parent-proxy/bin/nitro-parent-proxy.js', '@nitro-datakey/parent-proxy'],
  ['nitro-kms-local', 'test/devkit/bin/nitro-kms-local.js', '@nitro-datakey/devkit'],
  ['nitro-sim', 'test/devkit/bin/nitro-sim.js', '@nitro-datakey/devkit'],
];
const run = (bin: string, args: string[]) => spawnSync(process.execPath, [join(root, bin), ...args], { encoding: 'utf8', timeout: 20_000 });

describe('every command', () => {
  it.each(BINS)('%s --version prints its package and version, exit 0', (_name, bin, pkg) => {
    const r = run(bin, ['--version']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^${pkg.replace('/', '\\/')} \\d+\\.\\d+\\.\\d+\\n$`));
  });

  it.each(BINS.filter(([name]) => name !== 'nitro-datakey' && name !== 'nitro-sim'))('%s: an unknown option is one clear line, exit 2', (name, bin) => {
    const r = run(bin, ['--frobnicate']);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`${name}: unknown option --frobnicate (see --help)\n`);
  });

  it('subcommands have their own --help', () => {
    for (const [bin, args, head] of [
      ['test/devkit/bin/nitro-sim.js', ['attest', '--help'], 'Usage: nitro-sim attest'],
      ['test/devkit/bin/nitro-sim.js', ['pki', '--help'], 'Usage: nitro-sim pki'],
      ['test/devkit/bin/nitro-sim.js', ['pki', 'init', '--help'], 'Usage: nitro-sim pki'],
      ['test/devkit/bin/nitro-sim.js', ['enclave', '--help'], 'Usage: nitro-sim enclave'],
      ['test/devkit/bin/nitro-sim.js', ['nsm-device', '--help'], 'Usage: nitro-sim nsm-device'],
      ['enclave/bin/nitro-enclave.js', ['seal', '--help'], 'Usage: nitro-enclave seal'],
      ['shared/commands/bin/nitro-datakey.js', ['verify', '--help'], 'Usage: nitro-datakey verify'],
    ] as const) {
      const r = run(bin, [...args]);
      expect(r.status, args.join(' ')).toBe(0);
      expect(r.stdout.startsWith(head), args.join(' ')).toBe(true);
    }
  });

  it.each(BINS)('%s frob: a word that names no command is one line naming the commands, exit 2', (name, bin) => {
    const r = run(bin, ['frob']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`^${name}: unknown command "frob"( \\(commands: [a-z, -]+\\))?; see --help\\n$`));
  });

  it('every subcommand of every bin prints its own usage for --help, exit 0', () => {
    const COMMANDS: Record<string, string[][]> = {
      'shared/commands/bin/nitro-datakey.js': [['verify'], ['inspect'], ['cms-decrypt'], ['cms-encrypt'], ['policy'], ['seal']],
      'enclave/bin/nitro-enclave.js': [['run'], ['seal'], ['kms'], ['attestation']],
      'test/devkit/bin/nitro-kms-local.js': [['audit'], ['export']],
      'test/devkit/bin/nitro-sim.js': [['pki', 'init'], ['pki', 'show'], ['attest'], ['enclave'], ['nsm-device']],
    };
    for (const [bin, commands] of Object.entries(COMMANDS)) {
      const name = bin.replace(/^.*\//, '').replace(/\.js$/, '');
      for (const command of commands) {
        const r = run(bin, [...command, '--help']);
        expect(r.status, `${name} ${command.join(' ')}`).toBe(0);
        expect(r.stdout.startsWith(`Usage: ${name} ${command.join(' ')}`), `${name} ${command.join(' ')}: ${r.stdout.slice(0, 80)}`).toBe(true);
        expect(r.stderr, `${name} ${command.join(' ')}`).toBe('');
      }
    }
  });

  it.each(['build.sh', 'run.sh'])('eif/%s --help prints only its help', (script) => {
    const r = spawnSync('bash', [join(root, 'eif', script), '--help'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/eif\/(build|run)\.sh/);
    expect(r.stdout).not.toMatch(/set -euo|here=|\$\(/);
  });
});
