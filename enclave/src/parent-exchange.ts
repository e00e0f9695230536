import { connectTo, type TransportAddress } from '@nitro-datakey/native';

/** Why one exchange with a parent route failed: `connect`, or what happened to the answer. */
export interface ExchangeFailure {
  readonly stage: 'connect' | 'answer';
  /** A Node error code (ECONNREFUSED, ETIMEDOUT, ERR_TOO_LARGE) or a short description. */
  readonly reason: string;
  readonly cause?: unknown;
}

/**
 * One exchange with a route the parent serves (credentials, secrets): connect, write `request` (if any)
 * and end our side, read everything until the parent ends its side, within `maxBytes` and `timeoutMs`.
 * The caller turns a failure into its own typed error; a connection cut without an orderly end fails at
 * once, not when the timer runs out.
 */
export async function exchangeWithParent(
  address: string | TransportAddress,
  request: string,
  limits: { readonly maxBytes: number; readonly timeoutMs: number },
  fail: (failure: ExchangeFailure) => Error,
): Promise<string> {
  let socket: Awaited<ReturnType<typeof connectTo>>;
  try {
    socket = await connectTo(address, { timeoutMs: limits.timeoutMs });
  } catch (cause) {
    throw fail({ stage: 'connect', reason: (cause as NodeJS.ErrnoException).code ?? String(cause), cause });
  }
  return new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const timer = setTimeout(() => socket.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })), limits.timeoutMs);
    socket.on('data', (d: Buffer) => {
      size += d.length;
      if (size > limits.maxBytes) socket.destroy(Object.assign(new Error('response too large'), { code: 'ERR_TOO_LARGE' }));
      else chunks.push(d);
    });
    socket.once('end', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('utf8'));
      socket.destroy();
    });
    // After 'end' or 'error' this settles nothing: the promise is settled already.
    socket.once('close', () => {
      clearTimeout(timer);
      reject(fail({ stage: 'answer', reason: 'closed without an answer' }));
    });
    socket.once('error', (e) => {
      clearTimeout(timer);
      reject(fail({ stage: 'answer', reason: (e as NodeJS.ErrnoException).code ?? e.message, cause: e }));
    });
    socket.end(request);
  });
}
