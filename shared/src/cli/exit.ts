import { InvalidArgumentError, NitroDatakeyError } from '../errors.js';

/** Exit codes shared by every command: 0 ok, 1 rejected or failed, 2 usage or configuration error. */
export const EXIT = { ok: 0, rejected: 1, usage: 2 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A command-line problem (a missing flag, an unreadable input): exit 2 with the message. */
export class UsageError extends InvalidArgumentError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options, 'ERR_USAGE');
  }
}

/**
 * The one mapping from an error to an exit code: usage and configuration errors (every
 * InvalidArgumentError, and Node's parseArgs errors) are 2, everything else is 1.
 */
export function exitCodeFor(error: unknown): ExitCode {
  if (error instanceof InvalidArgumentError) return EXIT.usage;
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS') ? EXIT.usage : EXIT.rejected;
}

/** `name: CODE: message` (the code only for our own errors), one line for stderr. */
export function errorLine(name: string, error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) return `${name}: ${parseArgsMessage(code, message)} (see --help)\n`;
  return `${name}: ${error instanceof NitroDatakeyError && !(error instanceof UsageError) ? `${error.code}: ` : ''}${message.split('\n')[0]}\n`;
}

/** Node's parseArgs explains at length; one short line says the same. */
function parseArgsMessage(code: string, message: string): string {
  const option = /'(-[^' ]+)/.exec(message)?.[1];
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && option) return `unknown option ${option}`;
  // "--max-connections -3": parseArgs will not take "-3" as the value. Say what happened and the way to write it.
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && /ambiguous/.test(message) && option) {
    return `${option} needs a value, and the next argument starts with "-"; write ${option}=VALUE for a value that does`;
  }
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') return `unexpected argument ${/'([^']*)'/.exec(message)?.[1] ?? ''}`.trim();
  return (message.split('. ')[0] ?? message).replace(/\.$/, '');
}
