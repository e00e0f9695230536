import type { Duplex } from 'node:stream';

/**
 * The one rule for refusing a connection: the first reason whose check holds, in the order given
 * (shutdown first, then who the peer is, then the limits). Checks are functions so that a costly one
 * (a peer-credentials lookup) runs only when the cheaper ones passed.
 */
export function firstRefusal<R extends string>(checks: ReadonlyArray<readonly [R, () => boolean]>): R | undefined {
  for (const [reason, holds] of checks) if (holds()) return reason;
  return undefined;
}

/** Closed before a byte is read or an upstream is dialled; a late error from the peer is nobody's concern. */
export function dropConnection(socket: Duplex): void {
  socket.on('error', () => undefined);
  socket.destroy();
}
