import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAddress } from '@nitro-datakey/native';
import type { Nsm } from '@nitro-datakey/shared';
import { ATTESTATION_DOCUMENT_HEADER, ATTESTATION_NONCE_HEADER, answerBinding } from '@nitro-datakey/shared/attested-http';
import { parseEnclaveConfig } from '../src/app/config.js';
import { type AttestedFront, startAttestedFront } from '../src/app/attested-front.js';

// The attested front against what a client or the app may do wrong: a malformed nonce, an app that is
// down or answers too much. The NSM here records what it was asked to attest.
const attested: { nonce: Uint8Array; userData: Uint8Array }[] = [];
const nsm = {
  attest: async (o: { nonce: Uint8Array; userData: Uint8Array }) => {
    attested.push(o);
    return new Uint8Array([1, 2, 3]);
  },
} as unknown as Nsm;
let app: Server;
let front: AttestedFront;
let url: string;
beforeAll(async () => {
  app = createServer((req, res) => {
    if (req.url === '/big') res.end(Buffer.alloc(2048, 0x61));
    else res.writeHead(201, { 'x-app': 'kept', connection: 'close' }).end('created');
  });
  await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
  const port = (app.address() as AddressInfo).port;
  front = await startAttestedFront(parseAddress('tcp:127.0.0.1:0'), new URL(`http://127.0.0.1:${port}`), nsm, { maxBodyBytes: 1024 });
  url = `http://${front.address.slice('tcp:'.length)}`;
});
afterAll(async () => {
  await front.close();
  await new Promise((r) => app.close(r));
});

describe('the attested front', () => {
  it("binds the app's status and body into the document it asks for, and passes the app's headers on", async () => {
    const nonce = 'ab'.repeat(16);
    const res = await fetch(`${url}/orders`, { headers: { [ATTESTATION_NONCE_HEADER]: nonce } });
    expect(res.status).toBe(201);
    expect(await res.text()).toBe('created');
    expect(res.headers.get('x-app')).toBe('kept');
    expect(res.headers.get(ATTESTATION_DOCUMENT_HEADER)).toBe('AQID');
    expect(attested.at(-1)).toEqual({
      nonce: new Uint8Array(Buffer.from(nonce, 'hex')),
      userData: await answerBinding(201, new TextEncoder().encode('created')),
    });
  });

  it('answers without a document when no nonce is asked for, 400 for a malformed nonce, 502 for an answer over the cap', async () => {
    const count = attested.length;
    const plain = await fetch(`${url}/x`);
    expect(plain.headers.get(ATTESTATION_DOCUMENT_HEADER)).toBeNull();
    for (const bad of ['zz', 'ab'.repeat(8), 'ab'.repeat(65)])
      expect((await fetch(url, { headers: { [ATTESTATION_NONCE_HEADER]: bad } })).status, bad).toBe(400);
    expect((await fetch(`${url}/big`, { headers: { [ATTESTATION_NONCE_HEADER]: 'cd'.repeat(16) } })).status).toBe(502);
    expect(attested.length).toBe(count);
  });

  it('502 when the app is down; its upstream must be on loopback', async () => {
    const down = await startAttestedFront(parseAddress('tcp:127.0.0.1:0'), new URL('http://127.0.0.1:1'), nsm);
    try {
      expect((await fetch(`http://${down.address.slice('tcp:'.length)}/`)).status).toBe(502);
    } finally {
      await down.close();
    }
    const base = { region: 'us-east-1', kms: { transport: 'vsock:3:8000' }, credentials: { transport: 'vsock:3:8002' } };
    expect(() => parseEnclaveConfig({ ...base, attestedHttp: { listen: 'vsock:4294967295:8443', upstream: 'http://10.0.0.5:80' } })).toThrow(/loopback/);
  });
});
