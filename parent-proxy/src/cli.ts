import { type CliOptions, packageVersion, runCli } from '@nitro-datakey/shared/cli';
import type { ProxyOptions } from './proxy.js';

const USAGE = `Usage: nitro-parent-proxy --config FILE
       nitro-parent-proxy --route LISTEN=HOST:PORT [--route ...] [--allow HOST:PORT ...]
                          [--credentials LISTEN] [--secrets LISTEN --secrets-dir DIR] [--telemetry LISTEN]
                          [--metrics tcp:127.0.0.1:PORT] [--region REGION]

Runs on the parent EC2 instance. Each route listens (vsock:CID:PORT, tcp:HOST:PORT or unix:PATH) and
forwards bytes untouched to one upstream, which must be on the allowlist: the KMS endpoint of the region
on 443, plus any --allow. TLS ends inside the enclave; the proxy never sees plaintext.

Options:
  --config FILE                 YAML or JSON configuration (routes, allow, credentials, secrets,
                                telemetry, metrics, limits)
  --route LISTEN=HOST:PORT      a route (repeatable)
  --allow HOST:PORT             add an upstream to the allowlist (repeatable)
  --credentials LISTEN          serve the instance's AWS credentials to the enclave on LISTEN
  --credentials-allowed-cid CID only this enclave CID may ask for credentials on vsock (repeatable;
                                default: any CID)
  --credentials-allowed-uid UID on a Unix socket, only processes of this user id may ask (repeatable;
                                default: the proxy's own uid)
  --secrets LISTEN              serve the envelopes in --secrets-dir to the enclave on LISTEN, by name
                                (DIR/NAME.json, read-only, ciphertext only: a file that is not an
                                envelope sealed for NAME is never sent); the enclave fetches them at
                                start and again to take a rotation
  --secrets-dir DIR             the directory of envelopes (nitro-datakey seal --out DIR/NAME.json)
  --secrets-allowed-cid CID     only this enclave CID may ask for envelopes on vsock (repeatable)
  --telemetry LISTEN            take the enclave's telemetry on LISTEN: its workload's output and its
                                log records written as JSON lines (stamped with the enclave; at most
                                1000 a second, the rest counted), its heartbeat behind GET /healthz and
                                its metrics on GET /metrics (label enclave), and GET
                                /attestation?nonce=HEX for a fresh attestation document (on --metrics)
  --telemetry-output FILE       append those lines to FILE (0600) instead of standard output
  --telemetry-allowed-cid CID   only this enclave CID may connect on vsock (repeatable)
  --metrics tcp:127.0.0.1:PORT  Prometheus metrics on a loopback address (and /healthz, /attestation)
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
    {
      name: 'nitro-parent-proxy',
      help: USAGE,
      version: () => packageVersion(import.meta.url),
      service: async (args, context) => (await import('./serve.js')).serve(args, context, options),
    },
    argv,
    options,
  );
}
