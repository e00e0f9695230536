/*
 * Structured logs: one JSON object per line. Callers pass fields, never payloads, keys or
 * credentials; the logger adds the time and level.
 */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type Logger = (level: LogLevel, msg: string, fields?: Readonly<Record<string, unknown>>) => void;

const RANK: Readonly<Record<LogLevel, number>> = { debug: 0, info: 1, warn: 2, error: 3 };

export interface JsonLoggerOptions {
  /** Lines below this level are dropped. Default `info`. */
  readonly minLevel?: LogLevel;
  readonly clock?: () => Date;
}

/** A logger that writes JSON lines (default: to stderr). */
export function jsonLogger(write: (line: string) => void = (line) => process.stderr.write(line), options: JsonLoggerOptions = {}): Logger {
  const min = RANK[options.minLevel ?? 'info'];
  const clock = options.clock ?? (() => new Date());
  return (level, msg, fields = {}) => {
    if (RANK[level] >= min) write(`${JSON.stringify({ time: clock().toISOString(), level, msg, ...fields })}\n`);
  };
}

export const silentLogger: Logger = () => undefined;

/**
 * Routes process warnings into `log` instead of Node's plain-text stderr output. Every bin, the demo
 * and the test run call this, so a warning looks the same everywhere. The AWS SDK's notice that its
 * later releases need Node 22 is an `info` line, logged once (README: Node 20.19+ is supported);
 * everything else is a `warn` line.
 */
export function routeProcessWarnings(log: Logger, target: NodeJS.Process = process): void {
  target.removeAllListeners('warning'); // Node's default listener prints text
  target.on('warning', (warning: Error & { code?: string }) => {
    const text = warning.message.replace(/\s+/g, ' ').trim();
    const nodeVersionNotice = warning.name === 'NodeVersionSupportWarning' || text.startsWith('NodeVersionSupportWarning');
    log(nodeVersionNotice ? 'info' : 'warn', nodeVersionNotice ? 'node version notice' : 'process warning', {
      name: nodeVersionNotice ? 'NodeVersionSupportWarning' : warning.name,
      ...(warning.code ? { code: warning.code } : {}),
      warning: text,
    });
  });
}
