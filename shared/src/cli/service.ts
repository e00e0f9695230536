import { errorLine, EXIT, exitCodeFor, type ExitCode } from './exit.js';
import type { CliIo } from './io.js';

/**
 * SIGINT/SIGTERM listeners for a service, installed before it announces readiness (a supervisor may
 * stop it the moment it reads the ready line). `stopped` resolves on the first signal; `release()`
 * removes the listeners when the service exits without waiting for one.
 */
export function stopSignals(signals: NodeJS.Process = process): { stopped: Promise<void>; release: () => void } {
  let stop: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => {
    stop = resolve;
  });
  signals.once('SIGINT', stop);
  signals.once('SIGTERM', stop);
  return {
    stopped,
    release: () => {
      signals.off('SIGINT', stop);
      signals.off('SIGTERM', stop);
    },
  };
}

/** What a started service hands back: the fields of its ready line, and how to stop it. */
export interface RunningService {
  readonly ready: Readonly<Record<string, unknown>>;
  close(): Promise<void>;
}

/**
 * The life of every long-running command: signal handlers first, then `start()`, then one JSON
 * ready line on stdout (`{"ready": true, ...}`), then a clean `close()` on SIGINT or SIGTERM.
 * A start that fails prints one line on stderr and maps to the shared exit codes.
 */
export async function runService(name: string, start: () => Promise<RunningService>, io: CliIo, signals: NodeJS.Process = process): Promise<ExitCode> {
  const { stopped, release } = stopSignals(signals);
  let service: RunningService;
  try {
    service = await start();
  } catch (e) {
    release();
    io.stderr(errorLine(name, e));
    return exitCodeFor(e);
  }
  io.stdout(`${JSON.stringify({ ready: true, ...service.ready })}\n`);
  await stopped;
  try {
    await service.close();
  } catch (e) {
    io.stderr(errorLine(name, e));
    return EXIT.rejected;
  }
  return EXIT.ok;
}
