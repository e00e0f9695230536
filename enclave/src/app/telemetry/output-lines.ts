import type { Readable } from 'node:stream';

/** The longest line kept whole; a longer one is passed on in pieces of this size. */
const MAX_LINE_CHARACTERS = 32 * 1024;

/**
 * Reads a workload's output stream to its end, line by line: each line goes to `onLine` (without its
 * newline), and the raw bytes to `tee` as they come (the enclave's console in debug mode). The stream is
 * always read: a workload never waits on its own output, whatever the parent does with it.
 */
export function forwardLines(stream: Readable, tee: ((chunk: string) => void) | undefined, onLine: (line: string) => void): Promise<void> {
  let pending = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    tee?.(chunk);
    pending += chunk;
    let newline = pending.indexOf('\n');
    while (newline >= 0) {
      onLine(pending.slice(0, newline).replace(/\r$/, ''));
      pending = pending.slice(newline + 1);
      newline = pending.indexOf('\n');
    }
    while (pending.length > MAX_LINE_CHARACTERS) {
      onLine(pending.slice(0, MAX_LINE_CHARACTERS));
      pending = pending.slice(MAX_LINE_CHARACTERS);
    }
  });
  return new Promise((resolve) => {
    const end = () => {
      if (pending.length > 0) onLine(pending);
      pending = '';
      resolve();
    };
    stream.once('end', end);
    stream.once('close', end);
    stream.once('error', end);
  });
}
