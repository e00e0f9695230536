import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import type { Logger } from '@nitro-datakey/shared/cli';
import { parseSealedSecret, SECRET_NAME_CONTEXT_KEY, type SealedSecret, sealedSecretVersion } from '@nitro-datakey/shared/sealed-secret';
import {
  encodeSecretAnswer,
  encodeSecretRefusal,
  parseSecretRequest,
  SECRETS_ROUTE_MAX_REQUEST_BYTES,
  SECRETS_ROUTE_MAX_RESPONSE_BYTES,
  type SecretsRouteRefusal,
} from '@nitro-datakey/shared/secrets-route';

/** A secrets connection is closed after this long, whatever the caller does. */
const ANSWER_DEADLINE_MS = 10_000;

/** The answer to one request, and what the log line says of it. */
interface Answer {
  readonly text: string;
  readonly outcome: 'served' | SecretsRouteRefusal;
  readonly name?: string;
  readonly version?: number | null;
  readonly detail?: string;
}

/**
 * Serves the enclave the envelopes in one directory, read-only: `NAME.json` for the secret NAME, as
 * `nitro-datakey seal --name NAME --out DIR/NAME.json` writes it. Only what parses as an envelope sealed
 * for that name is served (ciphertext only: a stray plaintext file is never sent), at most
 * SECRETS_ROUTE_MAX_RESPONSE_BYTES, never through a symlink. To rotate, write the new envelope to a
 * temporary name and rename it over the old one (seal --out does): a request sees the old file or the new.
 */
export class SecretsService {
  readonly #dir: string;
  readonly #log: Logger;

  constructor(dir: string, log: Logger) {
    this.#dir = dir;
    this.#log = log;
  }

  /** Reads one request line, answers one line, closes; every answer is logged with the peer (never the envelope). */
  async serve(socket: Duplex, peer: string): Promise<SecretsRouteRefusal | 'served'> {
    socket.on('error', () => undefined);
    const deadline = setTimeout(() => socket.destroy(), ANSWER_DEADLINE_MS);
    deadline.unref();
    socket.once('close', () => clearTimeout(deadline));
    const line = await readRequestLine(socket);
    const answer = line === undefined ? refusal('Malformed', 'the request is not one line of at most 1024 bytes') : await this.#answer(line);
    socket.end(answer.text, () => socket.destroy());
    this.#log(answer.outcome === 'served' ? 'info' : 'warn', answer.outcome === 'served' ? 'secret envelope served' : 'secret envelope refused', {
      peer,
      name: answer.name ?? null,
      ...(answer.version !== undefined ? { version: answer.version } : {}),
      ...(answer.outcome !== 'served' ? { reason: answer.outcome, detail: answer.detail ?? null } : {}),
    });
    return answer.outcome;
  }

  async #answer(line: string): Promise<Answer> {
    let name: string;
    try {
      name = parseSecretRequest(line);
    } catch (e) {
      return refusal('Malformed', (e as Error).message);
    }
    const read = await readEnvelopeFile(join(this.#dir, `${name}.json`));
    if (typeof read === 'string') return { ...refusal(read === 'missing' ? 'NotFound' : 'Unavailable', `${name}: ${read}`), name };
    let envelope: SealedSecret;
    try {
      envelope = parseSealedSecret(read);
    } catch (e) {
      return { ...refusal('Unavailable', `${name}.json is not a sealed-secret envelope (${(e as Error).message})`), name };
    }
    // The enclave checks this itself; a file under the wrong name is the operator's to hear about here.
    if (envelope.encryptionContext[SECRET_NAME_CONTEXT_KEY] !== name)
      return {
        ...refusal('Unavailable', `${name}.json holds the envelope of ${JSON.stringify(envelope.encryptionContext[SECRET_NAME_CONTEXT_KEY] ?? null)}`),
        name,
      };
    let version: number | null = null;
    try {
      version = sealedSecretVersion(envelope) ?? null;
    } catch (e) {
      return { ...refusal('Unavailable', (e as Error).message), name };
    }
    return { text: encodeSecretAnswer(envelope), outcome: 'served', name, version };
  }
}

function refusal(error: SecretsRouteRefusal, message: string): Answer {
  return { text: encodeSecretRefusal(error, message), outcome: error, detail: message };
}

/** The file's bytes, or why not: missing, not a regular file, a symlink, too large. */
async function readEnvelopeFile(path: string): Promise<Uint8Array | string> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? 'missing' : code === 'ELOOP' ? 'a symlink (never followed)' : `cannot be read (${code ?? 'error'})`;
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) return 'not a regular file';
    if (st.size > SECRETS_ROUTE_MAX_RESPONSE_BYTES - 64) return `larger than ${SECRETS_ROUTE_MAX_RESPONSE_BYTES - 64} bytes`;
    return new Uint8Array(await handle.readFile());
  } finally {
    await handle.close();
  }
}

/** The request: bytes up to the first newline (or the end), within SECRETS_ROUTE_MAX_REQUEST_BYTES; undefined when it is longer or cut. */
function readRequestLine(socket: Duplex): Promise<string | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (value: string | undefined) => {
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      resolve(value);
    };
    const onData = (d: Buffer) => {
      const newline = d.indexOf(0x0a);
      chunks.push(newline < 0 ? d : d.subarray(0, newline));
      size += newline < 0 ? d.length : newline;
      if (size > SECRETS_ROUTE_MAX_REQUEST_BYTES) done(undefined);
      else if (newline >= 0) done(Buffer.concat(chunks).toString('utf8'));
    };
    const onEnd = () => done(size > 0 ? Buffer.concat(chunks).toString('utf8') : undefined);
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
  });
}
