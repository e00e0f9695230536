import { randomUUID } from 'node:crypto';
import type { Duplex, Writable } from 'node:stream';
import type { Logger } from '@nitro-datakey/shared/cli';
import { encodeTelemetry, type MetricFamily, parseTelemetryUp, TELEMETRY_MAX_LINE_BYTES, type TelemetryUp } from '@nitro-datakey/shared/telemetry';
import { key as labelText, type Metrics } from './metrics.js';

export interface TelemetryServiceOptions {
  /** Where the enclave's lines go, one JSON object each (default: standard output, for journald). */
  readonly sink: Writable;
  /** Output and log lines accepted per second and connection; the rest are counted and dropped (default 1000). */
  readonly maxLinesPerSecond?: number;
  /** /healthz says unhealthy when no heartbeat came for this long (default 30 000 ms). */
  readonly heartbeatTimeoutMs?: number;
  readonly clock?: () => number;
}

/** What the parent knows of one enclave from its telemetry. */
interface EnclaveSeen {
  name: string;
  lastHeartbeat: number | undefined;
  metrics: readonly MetricFamily[];
  socket: Duplex;
}

export interface TelemetryHealth {
  readonly healthy: boolean;
  readonly enclaves: readonly { readonly enclave: string; readonly lastHeartbeatMsAgo: number | null }[];
}

/**
 * The parent's end of the telemetry route: the enclave's output and log records written out as JSON lines
 * (stamped with the enclave and the time received, within a rate and size cap), its heartbeat kept for
 * /healthz, its metrics for the Prometheus endpoint with an `enclave` label, and attestation requests
 * passed down. The sink's back-pressure pauses the connection, never the parent; the enclave drops lines
 * on its side rather than make its workload wait.
 */
export class TelemetryService {
  readonly #options: TelemetryServiceOptions;
  readonly #metrics: Metrics;
  readonly #log: Logger;
  readonly #enclaves = new Set<EnclaveSeen>();
  readonly #pending = new Map<string, { resolve: (document: Uint8Array) => void; reject: (e: Error) => void }>();
  readonly #clock: () => number;

  constructor(metrics: Metrics, log: Logger, options: TelemetryServiceOptions) {
    this.#metrics = metrics;
    this.#log = log;
    this.#options = options;
    this.#clock = options.clock ?? Date.now;
  }

  serve(socket: Duplex, peer: string): void {
    const seen: EnclaveSeen = { name: peer, lastHeartbeat: undefined, metrics: [], socket };
    this.#enclaves.add(seen);
    this.#log('info', 'enclave telemetry connected', { peer });
    const limit = this.#options.maxLinesPerSecond ?? 1000;
    let windowStart = this.#clock();
    let inWindow = 0;
    let dropped = 0;
    let buffered = '';
    let skipping = false; // inside a line that is too long: discard to its newline
    const flushDropped = () => {
      if (dropped === 0) return;
      this.#write({
        received: new Date(this.#clock()).toISOString(),
        enclave: seen.name,
        stream: 'parent',
        message: 'enclave lines dropped over the rate cap',
        lines: dropped,
      });
      this.#metrics.inc(
        'nitro_proxy_enclave_lines_dropped_total',
        'Enclave output lines dropped by the parent (rate cap, malformed, too long).',
        { enclave: seen.name },
        dropped,
      );
      dropped = 0;
    };
    socket.setEncoding?.('utf8');
    socket.on('data', (chunk: string) => {
      let text = buffered + chunk;
      buffered = '';
      for (let newline = text.indexOf('\n'); newline >= 0; newline = text.indexOf('\n')) {
        const line = text.slice(0, newline);
        text = text.slice(newline + 1);
        if (skipping) {
          skipping = false;
          continue;
        }
        const now = this.#clock();
        if (now - windowStart >= 1000) {
          flushDropped();
          windowStart = now;
          inWindow = 0;
        }
        this.#take(seen, line, () => {
          if (++inWindow > limit) {
            dropped++;
            return false;
          }
          return true;
        });
      }
      if (text.length > TELEMETRY_MAX_LINE_BYTES) {
        if (!skipping) dropped++; // one over-long line is one line dropped, however many chunks it spans
        skipping = true;
      } else buffered = text;
    });
    socket.on('error', () => undefined);
    socket.once('end', () => socket.end()); // the enclave is done: so is this side
    socket.once('close', () => {
      flushDropped();
      this.#enclaves.delete(seen);
      this.#log('info', 'enclave telemetry disconnected', { peer, enclave: seen.name });
    });
  }

  /** One line from the enclave: written out, kept, or answered; a malformed one is counted, never echoed. */
  #take(seen: EnclaveSeen, line: string, admit: () => boolean): void {
    let record: TelemetryUp;
    try {
      record = parseTelemetryUp(line);
    } catch (e) {
      this.#metrics.inc('nitro_proxy_enclave_telemetry_malformed_total', 'Telemetry lines from the enclave that were not the format.', { enclave: seen.name });
      this.#log('warn', 'enclave telemetry line refused', { enclave: seen.name, error: (e as Error).message.slice(0, 200) });
      return;
    }
    const received = new Date(this.#clock()).toISOString();
    switch (record.kind) {
      case 'heartbeat':
        seen.name = record.moduleId;
        seen.lastHeartbeat = this.#clock();
        seen.metrics = record.metrics;
        return;
      case 'attestation': {
        const waiting = this.#pending.get(record.id);
        this.#pending.delete(record.id);
        if (record.document !== undefined) waiting?.resolve(new Uint8Array(Buffer.from(record.document, 'base64')));
        else waiting?.reject(new Error(`the enclave could not attest: ${record.error ?? 'no document'}`));
        return;
      }
      case 'dropped':
        this.#write({ time: record.time, received, enclave: seen.name, stream: 'enclave', message: 'lines dropped in the enclave', lines: record.lines });
        return;
      case 'output':
        if (admit()) this.#write({ time: record.time, received, enclave: seen.name, stream: record.stream, line: record.line }, seen.socket);
        return;
      case 'log':
        if (admit())
          this.#write(
            { time: record.time, received, enclave: seen.name, stream: 'supervisor', level: record.level, message: record.message, fields: record.fields },
            seen.socket,
          );
        return;
    }
  }

  /** One JSON line to the sink; when the sink is full, the enclave's connection waits (its side drops). */
  #write(entry: Record<string, unknown>, source?: Duplex): void {
    if (!this.#options.sink.write(`${JSON.stringify(entry)}\n`) && source && !source.isPaused()) {
      source.pause();
      this.#options.sink.once('drain', () => source.resume());
    }
  }

  health(): TelemetryHealth {
    const timeout = this.#options.heartbeatTimeoutMs ?? 30_000;
    const now = this.#clock();
    const enclaves = [...this.#enclaves].map((e) => ({ enclave: e.name, lastHeartbeatMsAgo: e.lastHeartbeat === undefined ? null : now - e.lastHeartbeat }));
    return { healthy: enclaves.some((e) => e.lastHeartbeatMsAgo !== null && e.lastHeartbeatMsAgo <= timeout), enclaves };
  }

  /** The enclaves' latest metrics in Prometheus text, each sample labelled with its enclave. */
  renderMetrics(): string {
    const families = new Map<string, { family: MetricFamily; lines: string[] }>();
    for (const seen of this.#enclaves) {
      for (const family of seen.metrics) {
        const entry = families.get(family.name) ?? { family, lines: [] };
        families.set(family.name, entry);
        for (const sample of family.samples) entry.lines.push(...sampleLines(family, { ...sample.labels, enclave: seen.name }, sample));
      }
    }
    let out = '';
    for (const { family, lines } of families.values()) out += `# HELP ${family.name} ${family.help}\n# TYPE ${family.name} ${family.type}\n${lines.join('')}`;
    return out;
  }

  /** Asks the enclave that sent the latest heartbeat for an attestation document over `nonce`. */
  attest(nonce: Uint8Array, timeoutMs = 5_000): Promise<Uint8Array> {
    const target = [...this.#enclaves].filter((e) => e.lastHeartbeat !== undefined).sort((a, b) => (b.lastHeartbeat ?? 0) - (a.lastHeartbeat ?? 0))[0];
    if (target === undefined) return Promise.reject(new Error('no enclave is connected to the telemetry route'));
    const id = randomUUID();
    return new Promise<Uint8Array>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`the enclave did not answer the attestation request within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, {
        resolve: (d) => {
          clearTimeout(timer);
          resolve(d);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      target.socket.write(encodeTelemetry({ kind: 'attest', id, nonce: Buffer.from(nonce).toString('hex') }));
    });
  }
}

function sampleLines(family: MetricFamily, labels: Record<string, string>, sample: MetricFamily['samples'][number]): string[] {
  const render = (extra: Record<string, string>) => labelText({ ...labels, ...extra });
  if (family.type !== 'histogram') return [`${family.name}${render({})} ${sample.value ?? 0}\n`];
  return [
    // The enclave sends the finite buckets; +Inf is every observation (JSON has no Infinity).
    ...(sample.buckets ?? []).map(([le, count]) => `${family.name}_bucket${render({ le: String(le) })} ${count}\n`),
    `${family.name}_bucket${render({ le: '+Inf' })} ${sample.count ?? 0}\n`,
    `${family.name}_sum${render({})} ${sample.sum ?? 0}\n`,
    `${family.name}_count${render({})} ${sample.count ?? 0}\n`,
  ];
}
