import { errorLine, EXIT, exitCodeFor, UsageError } from './exit.js';
import { type CliIo, processIo } from './io.js';
import { jsonLogger, type Logger } from './log.js';

/** What every command runs with; injectable so tests run commands in-process. */
export interface CliContext {
  readonly io: CliIo;
  /** Where SIGINT/SIGTERM come from (a service stops on them). */
  readonly signals: NodeJS.Process;
  /** JSON lines on stderr unless the caller gives its own. */
  readonly log: Logger;
}

/** The same, each part optional: the second argument of every bin's function. */
export interface CliOptions {
  readonly io?: CliIo;
  readonly signals?: NodeJS.Process;
  readonly log?: Logger;
}

/** One subcommand: its line in the program's help, its own help, and what it does. */
export interface CliCommand {
  /** Its line in the program's help (a lazily loaded command's is on its `LazyCliCommand`). */
  readonly summary?: string;
  readonly help: string;
  /** Returns the exit status; a thrown error is mapped by the kit (usage 2, anything else 1). */
  run(argv: readonly string[], context: CliContext): Promise<number>;
}

/**
 * A command whose module is loaded only when it runs or shows its help: a bin's `--version` and
 * `--help` then load none of its commands' code (the verifier, CMS, the KMS SDK).
 */
export interface LazyCliCommand {
  readonly summary: string;
  load(): Promise<CliCommand>;
}

export interface CliProgram {
  /** As the user types it, `nitro-sim` or `nitro-sim pki` for a nested program. */
  readonly name: string;
  /** A nested program's line in its parent's help. */
  readonly summary?: string;
  /** The program's help: printed for `--help`, and on stderr for a mistake in the command name. */
  readonly help: string;
  /** `NAME VERSION`, asked only for `--version` (a nested program has none: its bin answers). */
  readonly version?: () => string;
  /** A command, or a nested program of its own commands (`nitro-sim pki init`). */
  readonly commands?: Readonly<Record<string, CliCommand | LazyCliCommand | CliProgram>>;
  /**
   * A long-running program's own flags (`nitro-enclave --config FILE`): run when the first argument is an
   * option rather than a command name. Its help is the program's.
   */
  readonly service?: (argv: readonly string[], context: CliContext) => Promise<number>;
}

/** A program's `--help` text lists the commands it routes to: `  NAME  SUMMARY` lines, aligned. */
export function commandList(commands: Readonly<Record<string, CliCommand | LazyCliCommand | CliProgram>>): string {
  const width = Math.max(...Object.keys(commands).map((name) => name.length));
  return Object.entries(commands)
    .map(([name, command]) => `  ${name.padEnd(width)}  ${command.summary ?? ''}`.trimEnd())
    .join('\n');
}

/** The arguments that are the command's own: everything before a `--` (after it, another program's). */
const ownArguments = (argv: readonly string[]): readonly string[] => (argv.includes('--') ? argv.slice(0, argv.indexOf('--')) : argv);
const asksForHelp = (argv: readonly string[]): boolean => ownArguments(argv).some((a) => a === '--help' || a === '-h');

/**
 * The one router of every nitro-datakey bin: `--version`, `--help` (the program's or a command's,
 * wherever it stands among the command's own arguments), dispatch, and the one mapping from a thrown
 * error to a line on stderr and an exit status (0 ok, 1 rejected or failed, 2 usage). Never throws.
 */
export async function runCli(program: CliProgram, argv: readonly string[], options: CliOptions = {}): Promise<number> {
  const io = options.io ?? processIo;
  const context: CliContext = { io, signals: options.signals ?? process, log: options.log ?? jsonLogger((line) => io.stderr(line)) };
  const [first, ...rest] = argv;
  if (program.version && argv.length === 1 && (first === '--version' || first === '-V')) {
    io.stdout(`${program.version()}\n`);
    return EXIT.ok;
  }
  if (first === '--help' || first === '-h' || first === 'help') {
    io.stdout(program.help);
    return EXIT.ok;
  }
  const command = first === undefined ? undefined : program.commands?.[first];
  if (command && 'run' in command) return runCommand(`${program.name} ${first}`, command, rest, context);
  if (command && 'load' in command) return runCommand(`${program.name} ${first}`, await command.load(), rest, context);
  if (command) return runCli(command, rest, context);
  if (program.service && (first === undefined || first.startsWith('-'))) {
    if (asksForHelp(argv)) {
      io.stdout(program.help);
      return EXIT.ok;
    }
    return guarded(program.name, () => (program.service as NonNullable<CliProgram['service']>)(argv, context), context);
  }
  if (first === undefined) {
    io.stderr(program.help);
    return EXIT.usage;
  }
  const known = Object.keys(program.commands ?? {}).join(', ');
  io.stderr(errorLine(program.name, new UsageError(`unknown command ${JSON.stringify(first)}${known ? ` (commands: ${known})` : ''}; see --help`)));
  return EXIT.usage;
}

async function runCommand(name: string, command: CliCommand, argv: readonly string[], context: CliContext): Promise<number> {
  if (asksForHelp(argv)) {
    context.io.stdout(command.help);
    return EXIT.ok;
  }
  return guarded(name, () => command.run(argv, context), context);
}

async function guarded(name: string, run: () => Promise<number>, context: CliContext): Promise<number> {
  try {
    return await run();
  } catch (e) {
    context.io.stderr(errorLine(name, e));
    return exitCodeFor(e);
  }
}
