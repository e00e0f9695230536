import { CreateKeyCommand, GenerateDataKeyCommand, GenerateRandomCommand, type KMSClient } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaultInjector, type LocalKms, localKmsClient, parseFaultConfig, startLocalKms, startStack } from '@nitro-datakey/devkit';
import type { AuditEvent } from '@nitro-datakey/devkit';

/*
 * Fault injection in the local KMS, seen through the unmodified AWS SDK (and its retry behaviour) and
 * through the enclave's attested client for the hostile answers.
 */
let kms: LocalKms;
let events: AuditEvent[] = [];
let keyId: string;

beforeAll(async () => {
  kms = await startLocalKms({ adminPort: 0, audit: (e) => events.push(e) });
  const admin = localKmsClient(kms);
  keyId = (await admin.send(new CreateKeyCommand({}))).KeyMetadata?.KeyId as string;
  admin.destroy();
});

afterAll(async () => {
  await kms?.close();
});

/** Runs one GenerateDataKey with `maxAttempts` and reports what the SDK saw and how many requests KMS got. */
async function attempt(maxAttempts: number): Promise<{ outcome: string; attempts: number | undefined; requests: number; status?: number }> {
  const client: KMSClient = localKmsClient(kms, { maxAttempts });
  events = [];
  try {
    const out = await client.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256' }));
    return { outcome: 'OK', attempts: out.$metadata.attempts, requests: events.length };
  } catch (e) {
    const err = e as { name: string; $metadata?: { attempts?: number; httpStatusCode?: number } };
    return {
      outcome: err.name,
      attempts: err.$metadata?.attempts,
      requests: events.length,
      ...(err.$metadata?.httpStatusCode !== undefined ? { status: err.$metadata.httpStatusCode } : {}),
    };
  } finally {
    client.destroy();
    kms.faults.set({});
  }
}

describe('faults as the SDK sees them', () => {
  it('throttling: the SDK retries ThrottlingException and succeeds; past its attempts it reports ThrottlingException', async () => {
    kms.faults.set({ throttle: { next: 2 } });
    expect(await attempt(3)).toEqual({ outcome: 'OK', attempts: 3, requests: 3 });
    kms.faults.set({ throttle: { next: 5 } });
    expect(await attempt(2)).toEqual({ outcome: 'ThrottlingException', attempts: 2, requests: 2, status: 400 });
  });

  it('throttling at a rate: rate 1 throttles every call, rate 0 none', async () => {
    kms.faults.set({ throttle: { rate: 1 } });
    expect((await attempt(2)).outcome).toBe('ThrottlingException');
    kms.faults.set({ throttle: { rate: 0 } });
    expect((await attempt(1)).outcome).toBe('OK');
  });

  it('5xx: KMSInternalException with status 500, retried by the SDK', async () => {
    kms.faults.set({ serverError: { next: 1 } });
    expect(await attempt(1)).toEqual({ outcome: 'KMSInternalException', attempts: 1, requests: 1, status: 500 });
    kms.faults.set({ serverError: { next: 1 } });
    expect(await attempt(2)).toEqual({ outcome: 'OK', attempts: 2, requests: 2 });
  });

  it('connection reset: the SDK sees a network error, and a retry gets through', async () => {
    kms.faults.set({ reset: { next: 1 } });
    const failed = await attempt(1);
    expect(failed.outcome).not.toBe('OK');
    expect(failed.status).toBeUndefined(); // no HTTP answer at all
    expect(events.map((e) => e.errorCode)).toEqual(['InjectedConnectionReset']); // the audit trail says what happened
    kms.faults.set({ reset: { next: 1 } });
    expect((await attempt(2)).outcome).toBe('OK');
  });

  it('KMSInvalidStateException, as for a disabled key', async () => {
    kms.faults.set({ invalidState: { next: 1 } });
    expect(await attempt(3)).toMatchObject({ outcome: 'KMSInvalidStateException', attempts: 1, status: 400 }); // not retryable
    expect(events[0]?.errorCode).toBe('KMSInvalidStateException');
  });

  it('latency: the answer comes no sooner than the injected delay', async () => {
    kms.faults.set({ latencyMs: 300 });
    const client = localKmsClient(kms);
    try {
      const t = performance.now();
      await client.send(new GenerateRandomCommand({ NumberOfBytes: 8 }));
      expect(performance.now() - t).toBeGreaterThanOrEqual(290);
    } finally {
      client.destroy();
      kms.faults.set({});
    }
  });
});

describe('the admin endpoint', () => {
  /** fetch with the admin token of this local KMS. */
  const fetchAdmin = (url: string, init: RequestInit = {}) => fetch(url, { ...init, headers: { authorization: `Bearer ${kms.adminToken as string}` } });

  it('refuses every request without the token of the ready line (other local users share loopback)', async () => {
    const endpoint = kms.adminEndpoint as string;
    expect(kms.adminToken).toMatch(/^[0-9a-f]{48}$/);
    for (const headers of [
      {},
      { authorization: 'Bearer wrong' },
      { authorization: `Bearer ${kms.adminToken as string}x` },
      { authorization: kms.adminToken as string },
    ]) {
      const put = await fetch(endpoint, { method: 'PUT', body: JSON.stringify({ throttle: { next: 1 } }), headers });
      expect(put.status).toBe(401);
      expect(await put.json()).toMatchObject({ code: 'ERR_KMS_FAULT_ADMIN_TOKEN' });
      expect((await fetch(endpoint, { headers })).status).toBe(401);
    }
    expect(kms.faults.get()).not.toHaveProperty('throttle');
  });

  it('listens on 127.0.0.1 only; GET shows, PUT replaces the faults and counts start again', async () => {
    const endpoint = kms.adminEndpoint as string;
    expect(new URL(endpoint).hostname).toBe('127.0.0.1');
    const put = await fetchAdmin(endpoint, { method: 'PUT', body: JSON.stringify({ throttle: { next: 1 } }) });
    expect(put.status).toBe(200);
    expect(await put.json()).toMatchObject({ throttle: { next: 1 }, remaining: { throttle: 1 } });
    expect((await attempt(1)).outcome).toBe('ThrottlingException');
    expect(await (await fetchAdmin(endpoint)).json()).toMatchObject({ remaining: { throttle: 0 } });
  });

  it('refuses bad configurations whole, with a code, and keeps the faults it had', async () => {
    const endpoint = kms.adminEndpoint as string;
    await fetchAdmin(endpoint, { method: 'PUT', body: JSON.stringify({ latencyMs: 1 }) });
    for (const body of ['{not json', '[]', '{"throttle": {"next": -1}}', '{"throttle": {"rate": 2}}', '{"explode": true}', '{"attested": "maybe"}']) {
      const r = await fetchAdmin(endpoint, { method: 'PUT', body });
      expect(r.status, body).toBe(400);
      expect(((await r.json()) as { code: string }).code, body).toBe('ERR_KMS_FAULT_CONFIG');
    }
    expect((await fetchAdmin(endpoint, { method: 'PUT', body: 'x'.repeat(20_000) })).status).toBe(413);
    expect((await fetchAdmin(endpoint.replace('/faults', '/other'))).status).toBe(404);
    expect(await (await fetchAdmin(endpoint)).json()).toMatchObject({ latencyMs: 1 });
    kms.faults.set({});
  });

  it('parseFaultConfig and FaultInjector: counted faults are used up in order; rate uses the injected random source', () => {
    expect(() => parseFaultConfig({ reset: { next: 1.5 } })).toThrow(expect.objectContaining({ code: 'ERR_KMS_FAULT_CONFIG' }));
    const f = new FaultInjector({ reset: { next: 1 }, throttle: { next: 1 }, serverError: { rate: 0.5 } }, () => 0.9);
    expect([f.draw(), f.draw(), f.draw()]).toEqual(['reset', 'throttle', undefined]);
    const always = new FaultInjector({ serverError: { rate: 0.5 } }, () => 0.1);
    expect(always.draw()).toBe('serverError');
  });
});

describe('a hostile KMS for attested calls, seen by the enclave client', () => {
  it('plaintext beside CiphertextForRecipient is refused; a CiphertextForRecipient for another key is refused', async () => {
    const stack = await startStack();
    try {
      stack.kms.faults.set({ attested: 'plaintext' });
      const leak = await stack.client.generateDataKey({ KeyId: stack.keyId, KeySpec: 'AES_256' }).catch((e: { code: string }) => e.code);
      expect(leak).toBe('ERR_KMS_PLAINTEXT_IN_RESPONSE');
      stack.kms.faults.set({ attested: 'foreign-recipient' });
      const foreign = await stack.client.generateDataKey({ KeyId: stack.keyId, KeySpec: 'AES_256' }).catch((e: { code: string }) => e.code);
      expect(foreign).toBe('ERR_KMS_RECIPIENT_MISMATCH');
      stack.kms.faults.set({});
      const ok = await stack.client.generateDataKey({ KeyId: stack.keyId, KeySpec: 'AES_256' });
      expect(ok.plaintext).toHaveLength(32);
    } finally {
      await stack.close();
    }
  });
});
