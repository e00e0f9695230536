import { parseArgs } from 'node:util';
import { type CliContext, type CliOptions, packageVersion, runCli, runService, UsageError } from '@nitro-datakey/shared/cli';
import { configFromValues, loadConfigFile, type ProxyConfig } from './config.js';
import { startProxy, type ProxyOptions } from './proxy.js';

const USAGE = `Usage: nitro-parent-proxy --config FILE
       nitro-parent-proxy --route LISTEN=HOST:PORT [--route ...] [--allow HOST:PORT ...]
                          [--credentials LISTEN] [--metrics tcp:127.0.0.1:PORT] [--region REGION]

Runs on the parent EC2 instance. Each route listens (vsock:CID:PORT, tcp:HOST:PORT or unix:PATH) and
forwards bytes untouched to one upstream, which must be on the allowlist: the KMS endpoint of the region
on 443, plus any --allow. TLS ends inside the enclave; the proxy never sees plaintext.

Options:
  --config FILE                 YAML or JSON configuration (routes, allow, credentials, metrics, limits)
  --route LISTEN=HOST:PORT      a route (repeatable)
  --allow HOST:PORT             add an upstream to the allowlist (repeatable)
  --credentials LISTEN          serve the instance's AWS credentials to the enclave on LISTEN
  --credentials-allowed-cid CID only this enclave CID may ask for credentials on vsock (repeatable;
                                default: any CID)
  --credentials-allowed-uid UID on a Unix socket, only processes of this user id may ask (repeatable;
                                default: the proxy's own uid)
  --metrics tcp:127.0.0.1:PORT  Prometheus metrics on a loopback address
  --region REGION               default us-east-1 (sets the default allowlist)
  --fips                        also allow the region's FIPS endpoint, kms-fips.REGION.amazonaws.com:443
  --max-connections N           overall concurrent connections (default 4096)
  --route-max-connections N     concurrent connections per route (default 1024)
  --connect-timeout-ms N        upstream connect timeout (default 5000)
  --idle-timeout-ms N           close a connection idle this long (default 300000)
  -h, --help                    show this help

Prints one JSON line on stdout when every listener is up, logs JSON lines on stderr, and drains
connections then exits 0 on SIGINT or SIGTERM. Exit status: 0 stopped cleanly, 1 failed, 2 bad config.
`;

/** The proxy's command line options, and what a test may inject besides: where credentials come from. */
export interface NitroParentProxyOptions extends CliOptions, ProxyOptions {}

/** The `nitro-parent-proxy` command; returns its exit status and never throws. */
export function nitroParentProxy(argv: readonly string[], options: NitroParentProxyOptions = {}): Promise<number> {
  return runCli(
    { name: 'nitro-parent-proxy', help: USAGE, version: () => packageVersion(import.meta.url), service: (args, context) => serve(args, context, options) },
    argv,
    options,
  );
}

async function serve(argv: readonly string[], { io, signals, log }: CliContext, options: ProxyOptions): Promise<number> {
  const config = await readConfig(argv);
  return runService(
    'nitro-parent-proxy',
    async () => {
      const proxy = await startProxy(config, { ...options, log });
      return {
        ready: { routes: proxy.routes, credentials: proxy.credentials ?? null, metrics: proxy.metrics ?? null, pid: process.pid },
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
