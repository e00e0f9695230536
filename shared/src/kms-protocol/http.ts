import type { IncomingMessage, ServerResponse } from 'node:http';
import { kmsError, type KmsServiceException } from './errors.js';

/*
 * KMS's JSON 1.1 framing as a server sees it (FACTS.md "AWS KMS on the wire"): POST /, the operation
 * in `X-Amz-Target: TrentService.<Operation>`, a JSON object body, and errors as
 * `{"__type", "message"}` with the type repeated in `x-amzn-ErrorType`.
 */

export const KMS_TARGET_PREFIX = 'TrentService.';
export const KMS_CONTENT_TYPE = 'application/x-amz-json-1.1';
/** Larger than any valid request (a 256 KiB document in base64, plus the rest). */
export const KMS_MAX_REQUEST_BYTES = 1024 * 1024;

/** The operation an `X-Amz-Target` header names, or undefined when it is not `TrentService.<Name>`. */
export function kmsOperationFromTarget(target: string | string[] | undefined): string | undefined {
  const value = typeof target === 'string' ? target : '';
  if (!value.startsWith(KMS_TARGET_PREFIX)) return undefined;
  const name = value.slice(KMS_TARGET_PREFIX.length);
  return /^[A-Za-z]{1,64}$/.test(name) ? name : undefined;
}

/**
 * Reads a request body of at most `maxBytes` and parses it as a JSON object. A body declared or
 * found larger is refused before it is buffered; an empty body is `{}` (as KMS treats it).
 */
export async function readKmsRequestBody(req: IncomingMessage, maxBytes = KMS_MAX_REQUEST_BYTES): Promise<Record<string, unknown>> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > maxBytes) {
    req.resume();
    throw kmsError.serialization(`Request body of ${declared} bytes exceeds ${maxBytes}`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) throw kmsError.serialization(`Request body exceeds ${maxBytes} bytes`);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return {};
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw kmsError.serialization('Start of structure or map found where not expected.');
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw kmsError.serialization('The request body must be a JSON object.');
  return body as Record<string, unknown>;
}

/**
 * Writes one JSON answer; `errorType` adds the header the SDK reads after `__type`. The body may carry
 * key material (the gateway's Plaintext): it is written from an unpooled buffer that is zeroed once
 * the socket has taken it, so no copy stays in Node's shared Buffer pool. (The JSON text itself is a
 * JavaScript string, which no program can zero; it is garbage once the call returns.)
 */
export function writeKmsResponse(
  res: ServerResponse,
  status: number,
  body: unknown,
  extraHeaders: Readonly<Record<string, string>> = {},
  errorType?: string,
): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  const payload = Buffer.allocUnsafeSlow(Buffer.byteLength(text));
  payload.write(text);
  res.once('finish', () => payload.fill(0));
  res.once('close', () => payload.fill(0));
  res.writeHead(status, {
    'content-type': KMS_CONTENT_TYPE,
    'content-length': payload.length,
    ...extraHeaders,
    ...(errorType ? { 'x-amzn-errortype': errorType } : {}),
  });
  res.end(payload);
}

/** Writes a KMS exception as AWS does. */
export function writeKmsError(res: ServerResponse, error: KmsServiceException, extraHeaders: Readonly<Record<string, string>> = {}): void {
  writeKmsResponse(res, error.status, { __type: error.type, message: error.message }, extraHeaders, error.type);
}
