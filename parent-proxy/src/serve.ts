import { parseArgs } from 'node:util';
import { type CliContext, runService, UsageError } from '@nitro-datakey/shared/cli';
import { configFromValues, loadConfigFile, type ProxyConfig } from './config.js';
import { startProxy, type ProxyOptions } from './proxy.js';

/** `nitro-parent-proxy [flags]`: the proxy as a service, loaded only when it runs (not for --version or --help). */
export async function serve(argv: readonly string[], { io, signals, log }: CliContext, options: ProxyOptions): Promise<number> {
  const config = await readConfig(argv);
  return runService(
    'nitro-parent-proxy',
    async () => {
      const proxy = await startProxy(config, { ...options, log });
      return {
        ready: {
          routes: proxy.routes,
          credentials: proxy.credentials ?? null,
          secrets: proxy.secrets ?? null,
          telemetry: proxy.telemetry ?? null,
          metrics: proxy.metrics ?? null,
          pid: process.pid,
        },
        close: () => proxy.close(),
      };
    },
    io,
    signals,
  );
}

async function readConfig(argv: readonly string[]): Promise<ProxyConfig> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      config: { type: 'string' },
      route: { type: 'string', multiple: true },
      allow: { type: 'string', multiple: true },
      credentials: { type: 'string' },
      'credentials-allowed-cid': { type: 'string', multiple: true },
      'credentials-allowed-uid': { type: 'string', multiple: true },
      secrets: { type: 'string' },
      'secrets-dir': { type: 'string' },
      'secrets-allowed-cid': { type: 'string', multiple: true },
      telemetry: { type: 'string' },
      'telemetry-output': { type: 'string' },
      'telemetry-allowed-cid': { type: 'string', multiple: true },
      metrics: { type: 'string' },
      region: { type: 'string' },
      fips: { type: 'boolean' },
      'max-connections': { type: 'string' },
      'route-max-connections': { type: 'string' },
      'connect-timeout-ms': { type: 'string' },
      'idle-timeout-ms': { type: 'string' },
    },
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  const flagsGiven = Object.keys(values).some((k) => k !== 'config');
  if (values.config !== undefined) {
    if (flagsGiven) throw new UsageError('--config cannot be combined with other flags: put everything in the file');
    return loadConfigFile(values.config);
  }
  if (!values.route?.length) throw new UsageError('give --config FILE or at least one --route LISTEN=HOST:PORT (see --help)');
  const routeMax = int('--route-max-connections', values['route-max-connections']);
  return configFromValues(
    {
      ...(values.region ? { region: values.region } : {}),
      ...(values.fips ? { fips: true } : {}),
      routes: values.route.map((r) => {
        const eq = r.lastIndexOf('=');
        if (eq < 0) throw new UsageError(`--route takes LISTEN=HOST:PORT, got ${JSON.stringify(r)}`);
        return { listen: r.slice(0, eq), upstream: r.slice(eq + 1), ...(routeMax !== undefined ? { maxConnections: routeMax } : {}) };
      }),
      ...(values.allow ? { allow: values.allow } : {}),
      ...enclaveRoutes(values),
      ...(values.metrics ? { metrics: { listen: values.metrics } } : {}),
      limits: Object.fromEntries(
        Object.entries({
          maxConnections: int('--max-connections', values['max-connections']),
          connectTimeoutMs: int('--connect-timeout-ms', values['connect-timeout-ms']),
          idleTimeoutMs: int('--idle-timeout-ms', values['idle-timeout-ms']),
        }).filter(([, v]) => v !== undefined),
      ),
    },
    'flags',
  );
}

function int(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new UsageError(`${flag} must be a whole number of 0 or more, got ${JSON.stringify(v)}`);
  return Number(v);
}

/** The flags of the enclave's own routes: credentials, secrets, telemetry (each --X LISTEN and its companions). */
function enclaveRoutes(values: Readonly<Record<string, string | boolean | string[] | undefined>>): Record<string, unknown> {
  const text = (flag: string) => values[flag] as string | undefined;
  const list = (flag: string) => values[flag] as string[] | undefined;
  const cids = (flag: string) => (list(flag) ? { allowedCids: list(flag)?.map((v) => int(`--${flag}`, v)) } : {});
  for (const route of ['credentials', 'secrets', 'telemetry']) {
    const companions = Object.keys(values).filter((k) => k.startsWith(`${route}-`) && values[k] !== undefined);
    if (companions.length > 0 && text(route) === undefined)
      throw new UsageError(`--${companions.join(' and --')} ${companions.length > 1 ? 'need' : 'needs'} --${route} LISTEN`);
  }
  if (text('secrets') !== undefined && text('secrets-dir') === undefined) throw new UsageError('--secrets LISTEN needs --secrets-dir DIR');
  return {
    ...(text('credentials')
      ? {
          credentials: {
            listen: text('credentials'),
            ...cids('credentials-allowed-cid'),
            ...(list('credentials-allowed-uid') ? { allowedUids: list('credentials-allowed-uid')?.map((v) => int('--credentials-allowed-uid', v)) } : {}),
          },
        }
      : {}),
    ...(text('secrets') ? { secrets: { listen: text('secrets'), dir: text('secrets-dir'), ...cids('secrets-allowed-cid') } } : {}),
    ...(text('telemetry')
      ? {
          telemetry: { listen: text('telemetry'), ...(text('telemetry-output') ? { output: text('telemetry-output') } : {}), ...cids('telemetry-allowed-cid') },
        }
      : {}),
  };
}
