import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { limitHttpServer } from '@nitro-datakey/shared/cli';
import { DevkitError } from '../../errors.js';
import type { FaultConfig } from './config.js';
import type { FaultInjector } from './injector.js';

export interface FaultAdmin {
  /** `http://127.0.0.1:PORT/faults`: GET shows the faults, PUT replaces them with a JSON FaultConfig. */
  readonly endpoint: string;
  /** Every request must carry `Authorization: Bearer TOKEN`. */
  readonly token: string;
  close(): Promise<void>;
}

const MAX_ADMIN_BODY = 16 * 1024;

/**
 * The run-time control for faults. It listens on 127.0.0.1 only: it changes how KMS answers, so it is
 * for the person running the tests, never for the network.
 */
export async function startFaultAdmin(faults: FaultInjector, port = 0): Promise<FaultAdmin> {
  // Loopback is shared by every local user: the token (printed in the ready line, never logged) keeps
  // them from changing how KMS answers someone else's tests.
  const token = randomBytes(24).toString('hex');
  const server: Server = createServer((req, res) => void serveAdmin(req, res, faults, token));
  limitHttpServer(server, { maxConnections: 16, requestTimeoutMs: 10_000 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${bound}/faults`,
    token,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Whether the request carries `Authorization: Bearer TOKEN`, compared in constant time. */
function authorized(req: IncomingMessage, token: string): boolean {
  const given = Buffer.from(req.headers.authorization ?? '');
  const expected = Buffer.from(`Bearer ${token}`);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

async function serveAdmin(req: IncomingMessage, res: ServerResponse, faults: FaultInjector, token: string): Promise<void> {
  const answer = (status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(`${JSON.stringify(body)}\n`);
  };
  if (!authorized(req, token)) {
    return answer(401, { code: 'ERR_KMS_FAULT_ADMIN_TOKEN', message: 'send Authorization: Bearer TOKEN, with the adminToken of the ready line' });
  }
  if (req.url !== '/faults') return answer(404, { code: 'ERR_KMS_FAULT_CONFIG', message: 'the admin endpoint is /faults' });
  if (req.method === 'GET') return answer(200, faults.get());
  if (req.method !== 'PUT' && req.method !== 'POST') return answer(405, { code: 'ERR_KMS_FAULT_CONFIG', message: 'use GET or PUT /faults' });
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > MAX_ADMIN_BODY) return answer(413, { code: 'ERR_KMS_FAULT_CONFIG', message: `the body is over ${MAX_ADMIN_BODY} bytes` });
      chunks.push(chunk as Buffer);
    }
  } catch {
    return; // the client went away; nothing changed
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    return answer(400, { code: 'ERR_KMS_FAULT_CONFIG', message: 'the body is not JSON' });
  }
  try {
    faults.set(parsed as FaultConfig); // set() validates the whole configuration before anything changes
  } catch (e) {
    if (e instanceof DevkitError) return answer(400, { code: e.code, message: e.message });
    throw e;
  }
  return answer(200, faults.get());
}
