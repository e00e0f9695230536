import { describe, expect, it } from 'vitest';
import { type CliCommand, type CliIo, type CliProgram, EXIT, runCli, UsageError } from '@nitro-datakey/shared/cli';
import { NitroDatakeyError } from '@nitro-datakey/shared/errors';

/** An io that records what a program wrote. */
function recorder(): CliIo & { out: string; err: string } {
  const io = {
    out: '',
    err: '',
    stdout: (d: string | Uint8Array) => {
      io.out += String(d);
    },
    stderr: (t: string) => {
      io.err += t;
    },
    readStdin: async () => new Uint8Array(0),
  };
  return io;
}

/** A command that records the arguments it was given, or throws what it is told to. */
function command(name: string, seen: string[][], fail?: unknown): CliCommand {
  return {
    summary: `the ${name} command`,
    help: `Usage: demo ${name}\n`,
    run: async (argv) => {
      seen.push([name, ...argv]);
      if (fail !== undefined) throw fail;
      return EXIT.ok;
    },
  };
}

function program(seen: string[][], extra: Partial<CliProgram> = {}): CliProgram {
  return {
    name: 'demo',
    help: 'Usage: demo COMMAND\n',
    version: () => 'demo 1.2.3',
    commands: {
      greet: command('greet', seen),
      usage: command('usage', seen, new UsageError('--name is required')),
      refused: command('refused', seen, new NitroDatakeyError('ERR_DEMO_REFUSED', 'the peer said no')),
      broken: command('broken', seen, new Error('disk on fire\nsecond line never shown')),
      pki: {
        name: 'demo pki',
        summary: 'a nested program',
        help: 'Usage: demo pki init|show\n',
        commands: { init: command('pki init', seen), show: command('pki show', seen) },
      },
    },
    ...extra,
  };
}

describe('runCli: the one router of every bin', () => {
  it('--version and -V print the version alone; with other arguments they are no version request', async () => {
    for (const flag of ['--version', '-V']) {
      const io = recorder();
      expect(await runCli(program([]), [flag], { io })).toBe(EXIT.ok);
      expect(io.out).toBe('demo 1.2.3\n');
    }
    const io = recorder();
    expect(await runCli(program([]), ['--version', 'x'], { io })).toBe(EXIT.usage);
    expect(io.out).toBe('');
  });

  it("--help, -h and help print the program's help on stdout; no argument prints it on stderr with exit 2", async () => {
    for (const flag of ['--help', '-h', 'help']) {
      const io = recorder();
      expect(await runCli(program([]), [flag], { io })).toBe(EXIT.ok);
      expect(io.out).toBe('Usage: demo COMMAND\n');
    }
    const io = recorder();
    expect(await runCli(program([]), [], { io })).toBe(EXIT.usage);
    expect(io.err).toBe('Usage: demo COMMAND\n');
    expect(io.out).toBe('');
  });

  it("a command's --help wherever it stands among the command's own arguments, never after --", async () => {
    const seen: string[][] = [];
    for (const argv of [
      ['greet', '--help'],
      ['greet', '--x', '1', '-h'],
    ]) {
      const io = recorder();
      expect(await runCli(program(seen), argv, { io })).toBe(EXIT.ok);
      expect(io.out).toBe('Usage: demo greet\n');
    }
    expect(seen).toEqual([]);
    const io = recorder();
    expect(await runCli(program(seen), ['greet', '--', 'child', '--help'], { io })).toBe(EXIT.ok);
    expect(seen).toEqual([['greet', '--', 'child', '--help']]);
  });

  it('routes nested programs, each with its own help', async () => {
    const seen: string[][] = [];
    const io = recorder();
    expect(await runCli(program(seen), ['pki', 'init', 'dir'], { io })).toBe(EXIT.ok);
    expect(seen).toEqual([['pki init', 'dir']]);
    const help = recorder();
    expect(await runCli(program(seen), ['pki', 'show', '--help'], { io: help })).toBe(EXIT.ok);
    expect(help.out).toBe('Usage: demo pki show\n');
    const nested = recorder();
    expect(await runCli(program(seen), ['pki', '--help'], { io: nested })).toBe(EXIT.ok);
    expect(nested.out).toBe('Usage: demo pki init|show\n');
    const unknown = recorder();
    expect(await runCli(program(seen), ['pki', 'frob'], { io: unknown })).toBe(EXIT.usage);
    expect(unknown.err).toBe('demo pki: unknown command "frob" (commands: init, show); see --help\n');
  });

  it('maps what a command throws: a usage error exits 2 without a code, our own errors 1 with their code, anything else 1, one line', async () => {
    for (const [name, status, line] of [
      ['usage', EXIT.usage, 'demo usage: --name is required\n'],
      ['refused', EXIT.rejected, 'demo refused: ERR_DEMO_REFUSED: the peer said no\n'],
      ['broken', EXIT.rejected, 'demo broken: disk on fire\n'],
    ] as const) {
      const io = recorder();
      expect(await runCli(program([]), [name], { io })).toBe(status);
      expect(io.err).toBe(line);
    }
  });

  it('an unknown command is one line naming the commands, exit 2, and nothing runs', async () => {
    const seen: string[][] = [];
    const io = recorder();
    expect(await runCli(program(seen), ['frob', '--help'], { io })).toBe(EXIT.usage);
    expect(io.err).toBe('demo: unknown command "frob" (commands: greet, usage, refused, broken, pki); see --help\n');
    expect(seen).toEqual([]);
  });

  it("a service takes the program's own flags; a word that names no command is still an unknown command", async () => {
    const served: (readonly string[])[] = [];
    const service = async (argv: readonly string[]) => {
      served.push(argv);
      if (argv.includes('--bad')) throw new UsageError('give --config FILE');
      return EXIT.ok;
    };
    const p = program([], { service });
    expect(await runCli(p, ['--config', 'f'], { io: recorder() })).toBe(EXIT.ok);
    expect(await runCli(p, [], { io: recorder() })).toBe(EXIT.ok);
    const help = recorder();
    expect(await runCli(p, ['--config', 'f', '--help'], { io: help })).toBe(EXIT.ok);
    expect(help.out).toBe('Usage: demo COMMAND\n');
    const bad = recorder();
    expect(await runCli(p, ['--bad'], { io: bad })).toBe(EXIT.usage);
    expect(bad.err).toBe('demo: give --config FILE\n');
    const frob = recorder();
    expect(await runCli(p, ['frob'], { io: frob })).toBe(EXIT.usage);
    expect(frob.err).toMatch(/^demo: unknown command "frob"/);
    expect(served).toEqual([['--config', 'f'], [], ['--bad']]);
  });

  it("Node's parseArgs errors are usage errors in one short line", async () => {
    const { parseArgs } = await import('node:util');
    const p: CliProgram = {
      name: 'demo',
      help: 'Usage: demo\n',
      commands: {
        strict: {
          summary: '',
          help: '',
          run: async (argv) => {
            parseArgs({ args: [...argv], options: { name: { type: 'string' } } });
            return EXIT.ok;
          },
        },
      },
    };
    const io = recorder();
    expect(await runCli(p, ['strict', '--frob'], { io })).toBe(EXIT.usage);
    expect(io.err).toBe('demo strict: unknown option --frob (see --help)\n');
  });
});
