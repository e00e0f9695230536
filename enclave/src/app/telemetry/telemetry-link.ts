import type { Duplex } from 'node:stream';
import { connectTo, type TransportAddress } from '@nitro-datakey/native';
import type { Nsm } from '@nitro-datakey/shared';
import type { Logger, LogLevel } from '@nitro-datakey/shared/cli';
import { encodeTelemetry, parseTelemetryDown, TELEMETRY_MAX_LINE_BYTES, type TelemetryUp } from '@nitro-datakey/shared/telemetry';
import type { EnclaveMetrics } from './enclave-metrics.js';

export interface TelemetryLinkOptions {
  readonly address: string | TransportAddress;
  readonly nsm: Nsm;
  readonly moduleId: string;
  readonly metrics: EnclaveMetrics;
  /** Lines held while the parent is slow or away; beyond it new lines are dropped and counted (default 1 MiB). */
  readonly maxQueueBytes?: number;
  /** How often a heartbeat with the metrics goes up (default 5000 ms). */
  readonly heartbeatMs?: number;
  readonly clock?: () => Date;
  /** Called before each heartbeat, to bring metrics read from elsewhere (key pairs generated) up to date. */
  readonly beforeHeartbeat?: () => void;
  /** The supervisor's own log, for the link's own troubles (never sent up through itself). */
  readonly log?: Logger;
}

const RECONNECT_MIN_MS = 500;
const RECONNECT_MAX_MS = 30_000;

/**
 * The enclave's end of the telemetry route: the workload's output, the supervisor's log records and a
 * heartbeat with the metrics go up; attestation requests come down and are answered from the NSM. Nothing
 * here ever makes the workload wait: lines queue up to a cap while the parent is slow or away, and past it
 * are dropped and counted (the parent is told how many). The connection is made again after a loss.
 */
export class TelemetryLink {
  readonly #options: TelemetryLinkOptions;
  readonly #queue: string[] = [];
  #queuedBytes = 0;
  #dropped = 0;
  #socket: Duplex | undefined;
  #writable = false;
  #closed = false;
  #reconnectMs = RECONNECT_MIN_MS;
  #heartbeat: NodeJS.Timeout | undefined;
  #reconnect: NodeJS.Timeout | undefined;
  readonly #started = Date.now();
  readonly #flushed: (() => void)[] = [];

  constructor(options: TelemetryLinkOptions) {
    this.#options = options;
  }

  /** Connects (and keeps reconnecting) and starts the heartbeat; returns at once. */
  start(): void {
    this.#connect();
    this.#heartbeat = setInterval(() => this.heartbeat(), this.#options.heartbeatMs ?? 5_000);
    this.#heartbeat.unref();
  }

  /** A line the workload wrote: cut to the route's line size, queued. */
  output(stream: 'stdout' | 'stderr', line: string): void {
    this.#enqueue({ kind: 'output', time: this.#now(), stream, line: cut(line) });
  }

  /** A record of the supervisor's log; use `logger()` to send every record. */
  log(level: LogLevel, message: string, fields: Readonly<Record<string, unknown>> = {}): void {
    this.#enqueue({ kind: 'log', time: this.#now(), level, message: cut(message, 1024), fields });
  }

  /** A logger that writes to `base` and sends each record up too. */
  logger(base: Logger): Logger {
    return (level, message, fields = {}) => {
      base(level, message, fields);
      this.log(level, message, fields);
    };
  }

  heartbeat(): void {
    this.#options.beforeHeartbeat?.();
    const uptimeMs = Date.now() - this.#started;
    this.#enqueue({ kind: 'heartbeat', time: this.#now(), moduleId: this.#options.moduleId, uptimeMs, metrics: this.#options.metrics.snapshot() }, true);
  }

  /** Resolves once everything queued has been handed to the connection, or after `timeoutMs`. */
  flush(timeoutMs = 2_000): Promise<void> {
    if (this.#queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      timer.unref();
      this.#flushed.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  close(): void {
    this.#closed = true;
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    if (this.#reconnect) clearTimeout(this.#reconnect);
    const socket = this.#socket;
    socket?.end();
    // A parent that never ends its side must not keep the enclave's process alive.
    if (socket) setTimeout(() => socket.destroy(), 1_000).unref();
  }

  #now(): string {
    return (this.#options.clock?.() ?? new Date()).toISOString();
  }

  /** Queues a record; past the cap a log line is dropped (a heartbeat replaces nothing and is only skipped). */
  #enqueue(record: TelemetryUp, heartbeat = false): void {
    const line = encodeTelemetry(record);
    if (this.#queuedBytes + line.length > (this.#options.maxQueueBytes ?? 1024 * 1024)) {
      if (!heartbeat) this.#dropped++;
      return;
    }
    if (this.#dropped > 0) {
      const note = encodeTelemetry({ kind: 'dropped', time: this.#now(), lines: this.#dropped });
      this.#dropped = 0;
      this.#queue.push(note);
      this.#queuedBytes += note.length;
    }
    this.#queue.push(line);
    this.#queuedBytes += line.length;
    this.#pump();
  }

  #pump(): void {
    while (this.#writable && this.#socket && this.#queue.length > 0) {
      const line = this.#queue.shift() as string;
      this.#queuedBytes -= line.length;
      if (!this.#socket.write(line)) {
        this.#writable = false;
        this.#socket.once('drain', () => {
          this.#writable = true;
          this.#pump();
        });
      }
    }
    if (this.#queue.length === 0) for (const done of this.#flushed.splice(0)) done();
  }

  #connect(): void {
    if (this.#closed) return;
    connectTo(this.#options.address, { timeoutMs: 5_000 }).then(
      (socket) => {
        if (this.#closed) {
          socket.destroy();
          return;
        }
        this.#socket = socket;
        this.#writable = true;
        this.#reconnectMs = RECONNECT_MIN_MS;
        socket.on('error', () => undefined);
        socket.once('close', () => this.#lost());
        this.#readRequests(socket);
        this.heartbeat(); // the parent knows the enclave as soon as it is connected
        this.#pump();
      },
      (e: NodeJS.ErrnoException) => {
        this.#options.log?.('warn', 'telemetry route unreachable', { error: e.code ?? e.message, retryMs: this.#reconnectMs });
        this.#lost();
      },
    );
  }

  #lost(): void {
    this.#socket = undefined;
    this.#writable = false;
    if (this.#closed) return;
    this.#reconnect = setTimeout(() => this.#connect(), this.#reconnectMs);
    this.#reconnect.unref();
    this.#reconnectMs = Math.min(this.#reconnectMs * 2, RECONNECT_MAX_MS);
  }

  /** Lines from the parent: attestation requests, each answered with a document over its nonce. */
  #readRequests(socket: Duplex): void {
    let buffered = '';
    socket.setEncoding?.('utf8');
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      if (buffered.length > 8 * 1024 && !buffered.includes('\n')) {
        buffered = ''; // a parent that sends no line ends is ignored, not buffered without end
        return;
      }
      for (let newline = buffered.indexOf('\n'); newline >= 0; newline = buffered.indexOf('\n')) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        void this.#answer(line);
      }
    });
  }

  async #answer(line: string): Promise<void> {
    let request: ReturnType<typeof parseTelemetryDown>;
    try {
      request = parseTelemetryDown(line);
    } catch (e) {
      this.#options.log?.('warn', 'telemetry request refused', { error: (e as Error).message });
      return;
    }
    try {
      // A document over the operator's nonce only: no public key, no user data, nothing to replay into KMS.
      const document = await this.#options.nsm.attest({ nonce: new Uint8Array(Buffer.from(request.nonce, 'hex')) });
      this.#enqueue({ kind: 'attestation', id: request.id, document: Buffer.from(document).toString('base64') }, true);
      this.#options.metrics.inc('nitro_enclave_attestation_requests_total', 'Attestation documents requested by the parent.', { outcome: 'ok' });
    } catch (e) {
      this.#enqueue({ kind: 'attestation', id: request.id, error: (e as Error).message.slice(0, 200) }, true);
      this.#options.metrics.inc('nitro_enclave_attestation_requests_total', 'Attestation documents requested by the parent.', { outcome: 'error' });
    }
  }
}

/** A line cut to fit the route (with a marker saying so). */
function cut(text: string, max = TELEMETRY_MAX_LINE_BYTES - 1024): string {
  return text.length <= max ? text : `${text.slice(0, max)}... [cut: ${text.length} characters]`;
}
