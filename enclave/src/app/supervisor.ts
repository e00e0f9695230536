import { type ChildProcess, spawn as nodeSpawn, type SpawnOptions } from 'node:child_process';
import { constants } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Logger } from '@nitro-datakey/shared/cli';
import type { EnclaveApp } from './app.js';
import { forwardLines } from './telemetry/output-lines.js';

/** The environment a workload finds: where the gateway listens and where its secrets are. */
export const WORKLOAD_ENV = {
  /** The gateway's address as configured: `tcp:127.0.0.1:4000` or `unix:/run/kms.sock`. */
  gateway: 'NITRO_DATAKEY_GATEWAY',
  /** For TCP gateways, the URL an AWS SDK takes as its KMS endpoint (`http://127.0.0.1:4000`). */
  gatewayUrl: 'NITRO_DATAKEY_GATEWAY_URL',
  /** The directory the sealed secrets were opened into, one 0600 file per item name. */
  secretsDir: 'NITRO_DATAKEY_SECRETS_DIR',
  /** The enclave's module id, from the NSM. */
  moduleId: 'NITRO_DATAKEY_MODULE_ID',
} as const;

/** Exit status when the workload cannot be started (as a shell does for a missing command). */
export const EXIT_WORKLOAD_NOT_STARTED = 127;

export type Spawn = (command: string, args: readonly string[], options: SpawnOptions) => ChildProcess;

export interface SuperviseOptions {
  readonly log: Logger;
  readonly signals?: NodeJS.Process;
  /** How long the workload has to exit after the stop signal is passed on, before SIGKILL. Default 10 s. */
  readonly stopGraceMs?: number;
  /**
   * The workload's whole environment before the variables above: nothing else of the supervisor's
   * reaches it (see workloadBaseEnvironment).
   */
  readonly env?: Readonly<Record<string, string>>;
  readonly spawn?: Spawn;
  /**
   * Each line the workload writes, as it writes it (the telemetry route). With it, the workload's stdout
   * and stderr are pipes the supervisor always reads (and copies to its own), so the workload never waits.
   */
  readonly output?: (stream: 'stdout' | 'stderr', line: string) => void;
  /** Where the piped output is also copied as it comes (default: this process's stdout and stderr, the enclave's console). */
  readonly echo?: { readonly stdout: (text: string) => void; readonly stderr: (text: string) => void };
  /** Given, once the workload runs, a way to signal it (the app's secret rotations use it). */
  readonly onStarted?: (signalWorkload: (signal: NodeJS.Signals) => void) => void;
}

/** Variables of the supervisor's own environment a workload gets unless the config says otherwise. */
const DEFAULT_PASSED_ENV = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TZ', 'TERM'] as const;

/**
 * The workload's environment, stated rather than inherited: the named variables of the supervisor's
 * environment (DEFAULT_PASSED_ENV unless `passEnv` is given), then the config's own `env`. Whatever
 * else the launcher had (an operator's shell, a debug variable) stays with the supervisor.
 */
export function workloadBaseEnvironment(
  from: NodeJS.ProcessEnv,
  config: { readonly passEnv?: readonly string[]; readonly env?: Readonly<Record<string, string>> } = {},
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of config.passEnv ?? DEFAULT_PASSED_ENV) {
    const value = from[name];
    if (value !== undefined) env[name] = value;
  }
  return { ...env, ...config.env };
}

/**
 * Where the launcher is: in the package's build, dist/app/. The path goes up to the package root and
 * down again, so it holds both for this module built (dist/app/) and run from its sources (src/app/,
 * in the suites).
 */
function launcherPath(): string {
  return fileURLToPath(new URL('../../dist/app/workload-launcher.js', import.meta.url));
}

/** The variables the workload gets besides its base environment. */
export function workloadEnvironment(app: Pick<EnclaveApp, 'gateway' | 'moduleId'>, secretsDir: string | undefined): Record<string, string> {
  const env: Record<string, string> = { [WORKLOAD_ENV.moduleId]: app.moduleId };
  if (app.gateway) {
    env[WORKLOAD_ENV.gateway] = app.gateway;
    const tcp = /^tcp:(.+):(\d+)$/.exec(app.gateway);
    if (tcp) {
      const host = (tcp[1] as string).includes(':') ? `[${tcp[1]}]` : (tcp[1] as string);
      env[WORKLOAD_ENV.gatewayUrl] = `http://${host}:${tcp[2]}`;
      // The AWS SDKs read this for KMS's endpoint: an unmodified client reaches the gateway.
      env['AWS_ENDPOINT_URL_KMS'] = env[WORKLOAD_ENV.gatewayUrl] as string;
    }
  }
  if (secretsDir) env[WORKLOAD_ENV.secretsDir] = secretsDir;
  return env;
}

/**
 * Runs the workload once the enclave app is up (secrets open, gateway listening), and returns its exit
 * status: its own code, or 128 + the signal number if a signal ended it. SIGINT and SIGTERM are passed
 * on to it; when it has exited (or after the grace period, SIGKILL) the gateway is closed. The app is
 * closed on every path, so no listener outlives the workload.
 */
export async function superviseWorkload(
  app: EnclaveApp,
  command: readonly string[],
  secretsDir: string | undefined,
  options: SuperviseOptions,
): Promise<number> {
  const [file, ...args] = command;
  const signals = options.signals ?? process;
  const spawn = options.spawn ?? nodeSpawn;
  const grace = options.stopGraceMs ?? 10_000;
  if (file === undefined) throw new Error('superviseWorkload needs a command');
  let child: ChildProcess;
  try {
    // Through the launcher: it arms the parent-death signal, then becomes the workload (same pid).
    child = spawn(process.execPath, [launcherPath(), String(process.pid), file, ...args], {
      stdio: options.output ? ['inherit', 'pipe', 'pipe'] : 'inherit',
      env: { ...(options.env ?? workloadBaseEnvironment(process.env)), ...workloadEnvironment(app, secretsDir) },
    });
  } catch (e) {
    options.log('error', 'workload not started', { command: file, error: (e as Error).message });
    await app.close();
    return EXIT_WORKLOAD_NOT_STARTED;
  }
  const output = options.output;
  const outputs =
    output && child.stdout && child.stderr
      ? [
          forwardLines(child.stdout, options.echo?.stdout ?? ((t) => process.stdout.write(t)), (line) => output('stdout', line)),
          forwardLines(child.stderr, options.echo?.stderr ?? ((t) => process.stderr.write(t)), (line) => output('stderr', line)),
        ]
      : [];
  let killTimer: NodeJS.Timeout | undefined;
  const forward = (signal: NodeJS.Signals) => {
    options.log('info', 'stopping workload', { signal });
    child.kill(signal);
    killTimer ??= setTimeout(() => {
      options.log('warn', 'workload did not stop in time: SIGKILL', { graceMs: grace });
      child.kill('SIGKILL');
    }, grace);
  };
  // Every signal that would end the supervisor is handled, so it never dies leaving the workload
  // behind: INT, TERM and QUIT stop the workload (SIGKILL after the grace period); HUP is passed on
  // as it is (a reload, by convention) and the supervisor stays.
  const onInt = () => forward('SIGINT');
  const onTerm = () => forward('SIGTERM');
  const onQuit = () => forward('SIGQUIT');
  const onHup = () => {
    options.log('info', 'passing SIGHUP on', {});
    child.kill('SIGHUP');
  };
  // SIGUSR2 asks the supervisor to fetch the parent's secrets now (a rotation need not wait for the timer);
  // not SIGUSR1, which Node keeps for its inspector.
  const onUsr2 = () => {
    options.log('info', 'refreshing secrets on SIGUSR2', {});
    void app.refreshSecrets();
  };
  signals.on('SIGINT', onInt);
  signals.on('SIGTERM', onTerm);
  signals.on('SIGQUIT', onQuit);
  signals.on('SIGHUP', onHup);
  signals.on('SIGUSR2', onUsr2);
  if (child.pid !== undefined) options.onStarted?.((signal) => child.kill(signal));
  const status = await new Promise<number>((resolve) => {
    // 'error' without 'exit' is a spawn failure of the launcher itself; the launcher reports a
    // workload it cannot exec (no such file, not executable) with exit 127. 'exit' may follow an 'error' of kill().
    child.once('error', (e) => {
      if (child.pid === undefined) {
        options.log('error', 'workload not started', { command: file, error: (e as NodeJS.ErrnoException).code ?? e.message });
        resolve(EXIT_WORKLOAD_NOT_STARTED);
      }
    });
    child.once('exit', (code, signal) => {
      const byNumber = signal ? (constants.signals[signal] ?? 0) : 0;
      resolve(code ?? 128 + byNumber);
    });
    if (child.pid !== undefined) options.log('info', 'workload started', { command: file, pid: child.pid });
  });
  signals.off('SIGINT', onInt);
  signals.off('SIGTERM', onTerm);
  signals.off('SIGQUIT', onQuit);
  signals.off('SIGHUP', onHup);
  signals.off('SIGUSR2', onUsr2);
  if (killTimer) clearTimeout(killTimer);
  // Its last lines (a grandchild may hold the pipes open: not waited for past a second).
  await Promise.race([Promise.all(outputs), new Promise((resolve) => setTimeout(resolve, 1_000).unref())]);
  options.log('info', 'workload exited', { status });
  await app.close();
  return status;
}
