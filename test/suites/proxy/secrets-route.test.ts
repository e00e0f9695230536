import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchSecretEnvelope } from '@nitro-datakey/enclave';
import { configFromValues, type RunningProxy, startProxy } from '@nitro-datakey/parent-proxy';

/*
 * The parent's secrets route as a hostile enclave and a hostile parent would meet it: requests that are
 * not a name get a refusal with a reason and no file; answers that are not an envelope, or too large,
 * are errors with a code on the enclave's side, never a hang.
 */
let dir: string;
let proxy: RunningProxy;
const logs: Record<string, unknown>[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ndk-secrets-route-'));
  mkdirSync(join(dir, 'served'));
  writeFileSync(join(dir, 'served', 'misnamed.json'), '{"format":"nitro-datakey/sealed-secret"}');
  proxy = await startProxy(
    configFromValues({
      routes: [{ listen: 'tcp:127.0.0.1:0', upstream: 'kms.us-east-1.amazonaws.com:443' }],
      secrets: { listen: `unix:${join(dir, 'secrets.sock')}`, dir: join(dir, 'served') },
      limits: { shutdownGraceMs: 100 },
    }),
    { log: (level, message, fields) => logs.push({ level, message, ...fields }) },
  );
});

afterAll(async () => {
  await proxy?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** One raw exchange: what the proxy answers to exactly these bytes. */
function raw(bytes: string | Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(proxy.secrets?.slice('unix:'.length) as string);
    const chunks: Buffer[] = [];
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
    socket.on('error', reject);
    socket.end(bytes);
  });
}

describe('the secrets route, parent side', () => {
  it.each([
    ['garbage', 'Malformed', 'hello\n'],
    ['a path', 'Malformed', '{"name":"../../etc/passwd"}\n'],
    ['a request longer than 1024 bytes', 'Malformed', `{"name":"${'a'.repeat(2000)}"}\n`],
    ['nothing at all', 'Malformed', ''],
    ['a name with no file', 'NotFound', '{"name":"nothing-here"}\n'],
    ['a file that is not an envelope', 'Unavailable', '{"name":"misnamed"}\n'],
  ])('answers %s with one refusal line (%s)', async (_, error, request) => {
    const answer = JSON.parse(await raw(request)) as Record<string, unknown>;
    expect(answer).toMatchObject({ Error: error, Message: expect.any(String) });
  });

  it('refuses a directory that is not there at start, with the key named', async () => {
    const failed = await startProxy(
      configFromValues({
        routes: [{ listen: 'tcp:127.0.0.1:0', upstream: 'kms.us-east-1.amazonaws.com:443' }],
        secrets: { listen: 'tcp:127.0.0.1:0', dir: join(dir, 'missing') },
      }),
    ).catch((e: Error & { code?: string }) => e);
    expect(failed).toMatchObject({ code: 'ERR_PROXY_CONFIG', message: expect.stringContaining('secrets.dir') });
  });

  it('logs every refusal with the peer and the reason, and never an envelope', () => {
    const refused = logs.filter((l) => l['message'] === 'secret envelope refused');
    expect(refused.length).toBeGreaterThanOrEqual(6);
    expect(refused.every((l) => typeof l['peer'] === 'string' && typeof l['reason'] === 'string')).toBe(true);
    expect(JSON.stringify(logs)).not.toContain('encryptedDataKey');
  });
});

describe('the secrets route, enclave side, against a hostile parent', () => {
  let server: Server;
  let answer: (socket: Socket) => void = () => undefined;
  const sockets = new Set<Socket>();
  beforeAll(async () => {
    server = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined); // the client gives up first in most of these
      answer(socket);
    });
    await new Promise<void>((r) => server.listen(join(dir, 'hostile.sock'), r));
  });
  afterAll(() => {
    for (const socket of sockets) socket.destroy();
    return new Promise<void>((r) => server.close(() => r()));
  });

  it.each([
    ['more than 2 MiB', (s: Socket) => s.end(Buffer.alloc(3 * 1024 * 1024, 0x20)), 'ERR_SECRETS_ROUTE_MALFORMED'],
    ['not JSON', (s: Socket) => s.end('<html>'), 'ERR_SECRETS_ROUTE_MALFORMED'],
    ['a cut connection', (s: Socket) => s.destroy(), 'ERR_SECRETS_ROUTE_UNAVAILABLE'],
    ['silence', (_s: Socket) => undefined, 'ERR_SECRETS_ROUTE_UNAVAILABLE'],
  ])('an answer that is %s is an error with a code', async (_, behaviour, code) => {
    answer = behaviour;
    await expect(fetchSecretEnvelope(`unix:${join(dir, 'hostile.sock')}`, 'db', 300)).rejects.toMatchObject({ code });
  });
});
