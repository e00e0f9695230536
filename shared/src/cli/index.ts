/**
 * `@nitro-datakey/shared/cli`: the kit every nitro-datakey command is built with (one logger, one
 * exit-code mapping, one service life cycle). Only the kit: it loads no verifier, CMS or KMS code,
 * so the parent proxy can use it. The `nitro-datakey` command is `@nitro-datakey/commands`.
 *
 * @example
 * ```ts
 * import { EXIT, runCli } from '@nitro-datakey/shared/cli';
 * process.exitCode = await runCli(
 *   {
 *     name: 'hello',
 *     help: 'Usage: hello greet\n',
 *     version: () => 'hello 1.0.0',
 *     commands: {
 *       greet: {
 *         summary: 'say hello',
 *         help: 'Usage: hello greet\n',
 *         run: async (_argv, { io }) => {
 *           io.stdout('hello\n');
 *           return EXIT.ok;
 *         },
 *       },
 *     },
 *   },
 *   process.argv.slice(2),
 * );
 * ```
 */
export { EXIT, UsageError, exitCodeFor, errorLine, type ExitCode } from './exit.js';
export { jsonLogger, silentLogger, routeProcessWarnings, type Logger, type LogLevel, type JsonLoggerOptions } from './log.js';
export { runCli, commandList, type LazyCliCommand, type CliCommand, type CliContext, type CliOptions, type CliProgram } from './run-cli.js';
export {
  configSchema,
  readConfig,
  plainLocator,
  formatConfigPath,
  type ConfigLocator,
  type ConfigPath,
  type ConfigReader,
  type ConfigReadContext,
} from './config-reader.js';
export { runService, stopSignals, type RunningService } from './service.js';
export { writeFileAtomic, writeOutput } from './output-file.js';
export { limitHttpServer, stopHttpServer, type SmallHttpServerLimits } from './http-server.js';
export {
  processIo,
  refuseBinaryToTerminal,
  onePositional,
  readBinaryInput,
  readSecretInput,
  readKeyFile,
  parseContextArgs,
  parseHexArg,
  parseTimeArg,
  type CliIo,
} from './io.js';
export { packageVersion } from './version.js';
export { makeDirectory } from './directory.js';
export { jsonSyntaxProblem, parseJsonText } from './json-text.js';
