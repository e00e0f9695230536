import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Upstream } from './config.js';

export type CloseReason = 'done' | 'idle' | 'upstream-connect-failed' | 'upstream-error' | 'downstream-error' | 'shutdown';

export interface ForwardResult {
  readonly reason: CloseReason;
  /** Enclave -> upstream. */
  readonly bytesUp: number;
  /** Upstream -> enclave. */
  readonly bytesDown: number;
  readonly error?: string;
}

export interface ForwardOptions {
  readonly connectTimeoutMs: number;
  readonly idleTimeoutMs: number;
}

/**
 * Connects to `upstream` and moves bytes both ways untouched (TLS belongs to the enclave). pipe()
 * carries backpressure, so a slow reader on one side stops reads on the other instead of growing
 * buffers. An end on one side becomes a half-close on the other; an error or the idle timeout
 * closes both. `abort()` ends the connection at once (for shutdown).
 */
export function forward(downstream: Duplex, upstream: Upstream, options: ForwardOptions): { done: Promise<ForwardResult>; abort: () => void } {
  let socket: Socket | undefined;
  let finish: (reason: CloseReason, error?: Error) => void = () => undefined;
  const done = new Promise<ForwardResult>((resolve) => {
    let settled = false;
    let bytesUp = 0;
    let bytesDown = 0;
    let lastActivity = Date.now();
    let idleTimer: NodeJS.Timeout | undefined;
    let connectTimer: NodeJS.Timeout | undefined;
    let endedDown = false;
    let endedUp = false;
    let closedDown = false;
    let closedUp = false;

    finish = (reason, error) => {
      if (settled) return;
      settled = true;
      clearTimeout(connectTimer);
      clearInterval(idleTimer);
      socket?.destroy();
      downstream.destroy();
      resolve({ reason, bytesUp, bytesDown, ...(error ? { error: (error as NodeJS.ErrnoException).code ?? error.message } : {}) });
    };
    // Each side closes by itself once it has ended reading and finished writing (autoDestroy): only
    // then are the last bytes through. Closing without having ended is an error on that side.
    const closed = () => {
      if (closedDown && closedUp) finish('done');
    };

    downstream.on('error', (e: Error) => finish('downstream-error', e));
    downstream.once('end', () => {
      endedDown = true;
    });
    downstream.on('close', () => {
      closedDown = true;
      if (!endedDown) finish('downstream-error');
      else closed();
    });
    downstream.pause();

    socket = connect({ host: upstream.host, port: upstream.port, allowHalfOpen: true, noDelay: true });
    connectTimer = setTimeout(
      () => finish('upstream-connect-failed', Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT' })),
      options.connectTimeoutMs,
    );
    let connected = false; // socket.connecting is already false when a refused connect reports its error
    socket.once('error', (e) => finish(connected ? 'upstream-error' : 'upstream-connect-failed', e));
    socket.once('connect', () => {
      connected = true;
      clearTimeout(connectTimer);
      const up = socket as Socket;
      downstream.on('data', (chunk: Buffer) => {
        bytesUp += chunk.length;
        lastActivity = Date.now();
      });
      up.on('data', (chunk: Buffer) => {
        bytesDown += chunk.length;
        lastActivity = Date.now();
      });
      up.once('end', () => {
        endedUp = true;
      });
      up.on('close', () => {
        closedUp = true;
        if (!endedUp) finish('upstream-error');
        else closed();
      });
      downstream.pipe(up);
      up.pipe(downstream);
      idleTimer = setInterval(
        () => {
          if (Date.now() - lastActivity >= options.idleTimeoutMs) finish('idle');
        },
        Math.max(50, Math.min(options.idleTimeoutMs / 4, 5_000)),
      );
      idleTimer.unref();
    });
  });
  return { done, abort: () => finish('shutdown') };
}
