import { NitroDatakeyError } from '../errors.js';
import { isSecretName, MAX_SECRET_BYTES, parseSealedSecret, type SealedSecret, SealedSecretError } from '../sealed-secret/envelope.js';

/*
 * The secrets route between the enclave and the parent: the enclave connects, writes one JSON line
 * naming a secret, the parent answers one JSON line with that secret's envelope (ciphertext: the parent
 * never holds the plaintext) and closes. Both ends use this module. The parent is untrusted: what it
 * answers is only a candidate, which the enclave opens through KMS and checks against its own config.
 *
 *   request:  {"name": "db-password"}
 *   answer:   {"envelope": {...sealed secret...}}  or  {"Error": "NotFound" | ..., "Message": "..."}
 */

export type SecretsRouteErrorCode =
  /** The route could not be reached, timed out, or closed without an answer. */
  | 'ERR_SECRETS_ROUTE_UNAVAILABLE'
  /** The parent has no envelope by that name. */
  | 'ERR_SECRETS_ROUTE_NOT_FOUND'
  /** The answer (or a request, on the parent) is not the route's format, or is too large. */
  | 'ERR_SECRETS_ROUTE_MALFORMED';

export class SecretsRouteError extends NitroDatakeyError {
  declare readonly code: SecretsRouteErrorCode;

  constructor(code: SecretsRouteErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** A request line longer than this is not a name: the parent stops reading. */
export const SECRETS_ROUTE_MAX_REQUEST_BYTES = 1024;

/** An envelope of the largest secret, base64 and JSON around it, fits with room to spare. */
export const SECRETS_ROUTE_MAX_RESPONSE_BYTES = 2 * MAX_SECRET_BYTES;

/** What the parent may answer instead of an envelope. */
export type SecretsRouteRefusal = 'NotFound' | 'Malformed' | 'Unavailable';

export function encodeSecretRequest(name: string): string {
  if (!isSecretName(name)) throw new SecretsRouteError('ERR_SECRETS_ROUTE_MALFORMED', `${JSON.stringify(name)} is not a secret name`);
  return `${JSON.stringify({ name })}\n`;
}

/** The parent's strict reading of a request line: one object with one member, a secret name. */
export function parseSecretRequest(line: string): string {
  let body: unknown;
  try {
    body = JSON.parse(line);
  } catch {
    throw new SecretsRouteError('ERR_SECRETS_ROUTE_MALFORMED', 'the request is not JSON');
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body) || Object.keys(body).join() !== 'name')
    throw new SecretsRouteError('ERR_SECRETS_ROUTE_MALFORMED', 'the request must be {"name": NAME}');
  const name = (body as { name: unknown }).name;
  if (typeof name !== 'string' || !isSecretName(name))
    throw new SecretsRouteError('ERR_SECRETS_ROUTE_MALFORMED', 'the name must be a file name of letters, digits, ".", "_" and "-"');
  return name;
}

export function encodeSecretAnswer(envelope: SealedSecret): string {
  return `${JSON.stringify({ envelope })}\n`;
}

export function encodeSecretRefusal(error: SecretsRouteRefusal, message: string): string {
  return `${JSON.stringify({ Error: error, Message: message })}\n`;
}

/** The enclave's strict reading of the answer: an envelope in the sealed-secret format, or the parent's refusal as an error. */
export function parseSecretAnswer(text: string, name: string): SealedSecret {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new SecretsRouteError('ERR_SECRETS_ROUTE_MALFORMED', `the secrets route answered for ${name} with something that is not JSON`);
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw new SecretsRouteError('ERR_SECRETS_ROUTE_MALFORMED', `the secrets route answered for ${name} with something that is not a JSON object`);
  const b = body as Record<string, unknown>;
  if (typeof b['Error'] === 'string') {
    const message = `the parent has no envelope for ${name}: ${String(b['Message'] ?? b['Error'])}`;
    throw new SecretsRouteError(b['Error'] === 'NotFound' ? 'ERR_SECRETS_ROUTE_NOT_FOUND' : 'ERR_SECRETS_ROUTE_UNAVAILABLE', message);
  }
  if (Object.keys(b).join() !== 'envelope') throw new SecretsRouteError('ERR_SECRETS_ROUTE_MALFORMED', `the answer for ${name} must be {"envelope": ...}`);
  try {
    return parseSealedSecret(b['envelope'] as SealedSecret);
  } catch (e) {
    if (e instanceof SealedSecretError)
      throw new SecretsRouteError('ERR_SECRETS_ROUTE_MALFORMED', `the envelope served for ${name} is malformed: ${e.message}`, { cause: e });
    throw e;
  }
}
