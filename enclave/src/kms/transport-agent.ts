import { Agent, type AgentOptions } from 'node:https';
import type { Duplex } from 'node:stream';
import { type ConnectionOptions, type TLSSocket, connect as tlsConnect } from 'node:tls';
import { connectTo, type TransportAddress } from '@nitro-datakey/native';
import { kmsTrustAnchors } from './trust-roots.js';

export interface TransportAgentOptions {
  /** Where bytes go: the parent proxy's route (`vsock:3:8000`; tcp or unix in tests). */
  readonly transport: string | TransportAddress;
  /** TLS server name and certificate identity: the KMS hostname (or a VPC endpoint's). */
  readonly serverName: string;
  /** Extra trusted CA certificates (PEM), e.g. the local KMS's, beside Amazon's roots (always trusted, and only they by default). */
  readonly ca?: string | readonly string[];
  readonly connectTimeoutMs?: number;
  readonly keepAlive?: boolean;
}

/**
 * An https.Agent whose connections dial the transport instead of the request's host. TLS is set up
 * here, inside the enclave, over the raw transport stream: the parent forwarding the bytes sees only
 * TLS records and cannot read or forge a response.
 */
export function transportAgent(options: TransportAgentOptions): Agent {
  const agentOptions: AgentOptions = { keepAlive: options.keepAlive ?? true, maxSockets: 64 };
  const agent = new Agent(agentOptions);
  const ca = kmsTrustAnchors(options.ca);
  (agent as unknown as { createConnection: (o: unknown, cb: (err: Error | null, s?: Duplex) => void) => undefined }).createConnection = (
    _requestOptions,
    callback,
  ) => {
    // Not half-open: when KMS (or the proxy) closes an idle keep-alive connection, the TLS socket above
    // must close too, or the agent would reuse a dead connection and the next request would hang.
    connectTo(options.transport, { allowHalfOpen: false, ...(options.connectTimeoutMs === undefined ? {} : { timeoutMs: options.connectTimeoutMs }) }).then(
      (raw) => {
        const tlsOptions: ConnectionOptions = {
          socket: raw,
          servername: options.serverName,
          // Amazon's roots only (plus what the caller adds), never Node's whole bundle.
          ca,
          ALPNProtocols: ['http/1.1'],
          minVersion: 'TLSv1.2',
        };
        const secure: TLSSocket = tlsConnect(tlsOptions);
        raw.once('error', (e) => secure.destroy(e));
        callback(null, secure);
      },
      (e: Error) => callback(e),
    );
    return undefined;
  };
  return agent;
}
