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
  if ((values['credentials-allowed-cid'] || values['credentials-allowed-uid']) && !values.credentials) {
    throw new UsageError('--credentials-allowed-cid and --credentials-allowed-uid need --credentials LISTEN');
  }
  if ((values.secrets === undefined) !== (values['secrets-dir'] === undefined)) throw new UsageError('--secrets LISTEN and --secrets-dir DIR go together');
  if (values['secrets-allowed-cid'] && !values.secrets) throw new UsageError('--secrets-allowed-cid needs --secrets LISTEN');
  const int = (flag: string, v: string | undefined) => {
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v)) throw new UsageError(`${flag} must be a whole number`);
    return Number(v);
  };
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
      ...(values.credentials
        ? {
            credentials: {
              listen: values.credentials,
              ...(values['credentials-allowed-cid'] ? { allowedCids: values['credentials-allowed-cid'].map((v) => int('--credentials-allowed-cid', v)) } : {}),
              ...(values['credentials-allowed-uid'] ? { allowedUids: values['credentials-allowed-uid'].map((v) => int('--credentials-allowed-uid', v)) } : {}),
            },
          }
        : {}),
      ...(values.secrets
        ? {
            secrets: {
              listen: values.secrets,
              dir: values['secrets-dir'],
              ...(values['secrets-allowed-cid'] ? { allowedCids: values['secrets-allowed-cid'].map((v) => int('--secrets-allowed-cid', v)) } : {}),
            },
          }
        : {}),
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
