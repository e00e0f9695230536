import { randomBytes } from 'node:crypto';
import { Agent, type AgentOptions, get } from 'node:https';
import type { Duplex } from 'node:stream';
import { connect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { toHex } from '../bytes.js';
import { InvalidArgumentError } from '../errors.js';
import { AttestedFetchError, checkPcrSets, type DocumentVerifier } from './attested-fetch.js';
import { TLS_ATTESTATION_PATH, TLS_ATTESTATION_USER_DATA } from './binding.js';

export interface AttestedAgentOptions {
  readonly verifier: DocumentVerifier;
  /** The PCR sets the enclave may have (several during a roll-over): each index -> hex; one set must match whole. */
  readonly pcrSets: readonly Readonly<Record<number, string>>[];
  /** The oldest document accepted, in ms (default 60 000). */
  readonly maxAgeMs?: number;
  /** Refuse debug-mode enclaves (default true). */
  readonly denyDebug?: boolean;
  /** Largest document read from the attestation endpoint (default 16 KiB). */
  readonly maxDocumentBytes?: number;
  /** Passed to https.Agent (keepAlive, maxSockets, ...). */
  readonly agent?: AgentOptions;
}

type ConnectionCallback = (error: Error | null, socket: Duplex) => void;

/**
 * An https.Agent whose every connection ends inside an attested enclave: after the TLS handshake it
 * asks the server for a document over a fresh nonce (GET `TLS_ATTESTATION_PATH`), verifies it (pinned
 * root, one of `pcrSets`, age, not debug) and requires its public_key to be the very key this
 * connection's TLS certificate carries. Until then no request is written; on any failure the
 * connection is destroyed and the request fails with the typed error. The certificate itself is not
 * checked against a CA: the enclave made it, and the attestation is what vouches for its key.
 */
export class AttestedAgent extends Agent {
  readonly #options: AttestedAgentOptions;

  constructor(options: AttestedAgentOptions) {
    if (options.pcrSets.length === 0) throw new InvalidArgumentError('attestedAgent needs at least one PCR set');
    super({ ...options.agent });
    this.#options = options;
  }

  override createConnection(options: ConnectionOptions, callback: ConnectionCallback): undefined {
    const socket = connect({ ...options, rejectUnauthorized: false });
    const fail = (error: Error): void => {
      socket.destroy();
      callback(error, socket);
    };
    socket.once('error', fail);
    socket.once('secureConnect', () => {
      this.#attest(options, socket).then(
        () => {
          socket.off('error', fail);
          callback(null, socket);
        },
        (error: Error) => fail(error),
      );
    });
    return undefined;
  }

  async #attest(options: ConnectionOptions, socket: TLSSocket): Promise<void> {
    const spki = socket.getPeerX509Certificate()?.publicKey.export({ type: 'spki', format: 'der' });
    if (spki === undefined) throw new AttestedFetchError('ERR_ATTESTED_FETCH_MISSING', 'the server presented no TLS certificate');
    const nonce = new Uint8Array(randomBytes(32));
    const document = await fetchDocument(options, nonce, this.#options.maxDocumentBytes ?? 16 * 1024);
    const attestation = await this.#options.verifier.verify(document, {
      nonce,
      publicKey: new Uint8Array(spki),
      userData: TLS_ATTESTATION_USER_DATA,
      maxAgeMs: this.#options.maxAgeMs ?? 60_000,
      denyDebug: this.#options.denyDebug ?? true,
    });
    checkPcrSets(attestation, this.#options.pcrSets);
  }
}

/** `new AttestedAgent(options)`, for `https.request(url, { agent: attestedAgent({...}) })`. */
export function attestedAgent(options: AttestedAgentOptions): AttestedAgent {
  return new AttestedAgent(options);
}

/** The document the server gives for `nonce`, over a connection of its own (the document vouches for itself). */
function fetchDocument(options: ConnectionOptions, nonce: Uint8Array, maxBytes: number): Promise<Uint8Array> {
  const missing = (why: string) => new AttestedFetchError('ERR_ATTESTED_FETCH_MISSING', `no attestation of the TLS key from ${options.host}: ${why}`);
  return new Promise((resolve, reject) => {
    const request = get(
      {
        host: options.host,
        port: options.port,
        ...(options.servername ? { servername: options.servername } : {}),
        path: `${TLS_ATTESTATION_PATH}?nonce=${toHex(nonce)}`,
        rejectUnauthorized: false,
        agent: false,
        timeout: 10_000,
      },
      (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxBytes) response.destroy(missing(`the answer is over ${maxBytes} bytes`));
          else chunks.push(chunk);
        });
        response.once('error', reject);
        response.once('end', () => {
          if (response.statusCode !== 200) reject(missing(`GET ${TLS_ATTESTATION_PATH} answered ${response.statusCode}`));
          else resolve(new Uint8Array(Buffer.concat(chunks)));
        });
      },
    );
    request.once('timeout', () => request.destroy(missing('no answer within 10 s')));
    request.once('error', (error) => reject(error instanceof AttestedFetchError ? error : missing(error.message)));
  });
}
