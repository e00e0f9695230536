import { createServer, type IncomingHttpHeaders, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { listenOn, type TransportAddress, type TransportListener } from '@nitro-datakey/native';
import type { Nsm } from '@nitro-datakey/shared';
import {
  ATTESTATION_DOCUMENT_HEADER,
  ATTESTATION_NONCE_HEADER,
  answerBinding,
  TLS_ATTESTATION_PATH,
  TLS_ATTESTATION_USER_DATA,
} from '@nitro-datakey/shared/attested-http';
import { type Logger, silentLogger } from '@nitro-datakey/shared/cli';
import { nonceParameter } from '@nitro-datakey/shared/telemetry';
import { type FrontTlsIdentity, makeFrontTlsIdentity } from './front-tls-certificate.js';

export interface AttestedFrontOptions {
  readonly log?: Logger;
  /** The largest answer body the front reads whole to bind it (default 8 MiB); a larger one is 502. */
  readonly maxBodyBytes?: number;
  /**
   * Serve TLS with a key made here, never leaving this process, and answer GET TLS_ATTESTATION_PATH?nonce=HEX
   * with a document naming that key (public_key) for AttestedAgent clients.
   */
  readonly tls?: boolean;
}

export interface AttestedFront {
  readonly address: string;
  close(): Promise<void>;
}

// Headers of one connection, not of the message: never passed along.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'content-length']);

function forwardable(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  return out;
}

/**
 * The front of an app under `nitro-enclave run`, for clients that verify the enclave (attestedFetch): every
 * request is passed to the app; when it carries `x-nitro-attestation-nonce`, the answer goes back with
 * `x-nitro-attestation`, an attestation document over that nonce whose user_data binds the answer's
 * status and body. The app needs no code for it. Answers are read whole (up to maxBodyBytes) to be bound.
 */
export async function startAttestedFront(listen: TransportAddress, upstream: URL, nsm: Nsm, options: AttestedFrontOptions = {}): Promise<AttestedFront> {
  const log = options.log ?? silentLogger;
  const maxBody = options.maxBodyBytes ?? 8 * 1024 * 1024;
  const identity = options.tls ? makeFrontTlsIdentity() : undefined;
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://front');
    if (identity && req.method === 'GET' && url.pathname === TLS_ATTESTATION_PATH) {
      void attestTlsKey(url.searchParams.get('nonce'), res, nsm, identity);
    } else void serve(req, res);
  };
  const server: Server = identity ? createTlsServer({ key: identity.keyPem, cert: identity.certificatePem }, handler) : createServer(handler);
  server.requestTimeout = 30_000;
  const serve = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const nonceHex = req.headers[ATTESTATION_NONCE_HEADER];
    const nonce = parseNonce(nonceHex);
    if (nonceHex !== undefined && nonce === undefined) {
      res.writeHead(400, { 'content-type': 'text/plain' }).end(`${ATTESTATION_NONCE_HEADER} must be 16 to 64 bytes of hex\n`);
      return;
    }
    try {
      const answer = await pass(req, upstream, maxBody);
      const headers = forwardable(answer.headers);
      if (nonce) {
        const document = await nsm.attest({ nonce, userData: await answerBinding(answer.status, answer.body) });
        headers[ATTESTATION_DOCUMENT_HEADER] = Buffer.from(document).toString('base64');
      }
      res.writeHead(answer.status, { ...headers, 'content-length': String(answer.body.byteLength) }).end(answer.body);
    } catch (e) {
      log('warn', 'attested front: no answer from the app', { error: (e as Error).message });
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' }).end('the app did not answer\n');
    }
  };
  const listener: TransportListener = await listenOn(listen, (socket) => server.emit('connection', socket));
  log('info', 'attested front listening', { listen: listener.address, upstream: upstream.origin, tls: identity !== undefined });
  return {
    address: listener.address,
    close: async () => {
      await listener.close();
      server.closeAllConnections();
    },
  };
}

/** What attested-http clients send: 16 to 64 bytes of hex (ATTESTATION_NONCE_HEADER). */
const parseNonce = (hex: string | string[] | null | undefined): Uint8Array | undefined => nonceParameter(hex, 16, 64);

/** GET TLS_ATTESTATION_PATH?nonce=HEX: a document over the nonce that names this front's TLS key. */
async function attestTlsKey(nonceHex: string | null, res: ServerResponse, nsm: Nsm, identity: FrontTlsIdentity): Promise<void> {
  const nonce = parseNonce(nonceHex);
  if (nonce === undefined) {
    res.writeHead(400, { 'content-type': 'text/plain' }).end('nonce must be 16 to 64 bytes of hex\n');
    return;
  }
  try {
    const document = await nsm.attest({ nonce, publicKey: identity.spki, userData: TLS_ATTESTATION_USER_DATA });
    res.writeHead(200, { 'content-type': 'application/cbor', 'cache-control': 'no-store', 'content-length': String(document.byteLength) }).end(document);
  } catch {
    res.writeHead(503, { 'content-type': 'text/plain' }).end('the NSM gave no document\n');
  }
}

/** The request passed to the app as it came; its answer read whole, within `maxBody`. */
function pass(req: IncomingMessage, upstream: URL, maxBody: number): Promise<{ status: number; headers: IncomingHttpHeaders; body: Uint8Array }> {
  return new Promise((resolve, reject) => {
    const out = request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: forwardable(req.headers) }, (answer) => {
      const chunks: Buffer[] = [];
      let size = 0;
      answer.on('data', (d: Buffer) => {
        size += d.length;
        if (size > maxBody) answer.destroy(new Error(`the answer is larger than ${maxBody} bytes`));
        else chunks.push(d);
      });
      answer.once('end', () => resolve({ status: answer.statusCode ?? 502, headers: answer.headers, body: new Uint8Array(Buffer.concat(chunks)) }));
      answer.once('error', reject);
    });
    out.once('error', reject);
    req.pipe(out);
  });
}
