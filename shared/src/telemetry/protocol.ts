import { NitroDatakeyError } from '../errors.js';

/*
 * The telemetry route between the enclave and the parent: one long-lived connection the enclave opens,
 * JSON lines both ways. Up (enclave -> parent): the workload's output, the supervisor's own log records,
 * heartbeats carrying the enclave's metrics, and answers to attestation requests. Down (parent -> enclave):
 * attestation requests with the operator's nonce. Both ends use this module. Nothing on it is secret, and
 * nothing from the enclave is trusted by the parent beyond "the enclave said so": every line is checked
 * and written out as data, never as the parent's own log.
 */

export type TelemetryErrorCode = 'ERR_TELEMETRY_MALFORMED';

export class TelemetryError extends NitroDatakeyError {
  declare readonly code: TelemetryErrorCode;

  constructor(message: string) {
    super('ERR_TELEMETRY_MALFORMED', message);
  }
}

/** A line longer than this is cut by the enclave and refused by the parent: logs are lines, not files. */
export const TELEMETRY_MAX_LINE_BYTES = 64 * 1024;

/** One sample of a metric: its labels and value (a histogram: its buckets, sum and count). */
export interface MetricSample {
  readonly labels: Readonly<Record<string, string>>;
  readonly value?: number;
  readonly buckets?: readonly (readonly [le: number, count: number])[];
  readonly sum?: number;
  readonly count?: number;
}

export interface MetricFamily {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge' | 'histogram';
  readonly samples: readonly MetricSample[];
}

export type TelemetryUp =
  /** A line the workload wrote (without its newline). */
  | { readonly kind: 'output'; readonly time: string; readonly stream: 'stdout' | 'stderr'; readonly line: string }
  /** A record of the supervisor's own JSON log. */
  | {
      readonly kind: 'log';
      readonly time: string;
      readonly level: 'debug' | 'info' | 'warn' | 'error';
      readonly message: string;
      readonly fields: Readonly<Record<string, unknown>>;
    }
  /** Lines the enclave dropped because the connection could not keep up (the workload never waits). */
  | { readonly kind: 'dropped'; readonly time: string; readonly lines: number }
  | { readonly kind: 'heartbeat'; readonly time: string; readonly moduleId: string; readonly uptimeMs: number; readonly metrics: readonly MetricFamily[] }
  /** The answer to an attestation request: the NSM's document over the nonce, base64. */
  | { readonly kind: 'attestation'; readonly id: string; readonly document?: string; readonly error?: string };

export type TelemetryDown = { readonly kind: 'attest'; readonly id: string; readonly nonce: string };

export function encodeTelemetry(record: TelemetryUp | TelemetryDown): string {
  return `${JSON.stringify(record)}\n`;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const LEVELS = new Set(['debug', 'info', 'warn', 'error']);

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const isString = (v: unknown, max = TELEMETRY_MAX_LINE_BYTES): v is string => typeof v === 'string' && v.length <= max;

function fail(message: string): never {
  throw new TelemetryError(`telemetry: ${message}`);
}

/** Each kind of record the enclave may send: its members, and what its values must be. */
const UP_KINDS: Readonly<
  Record<TelemetryUp['kind'], { readonly members: readonly string[]; readonly valid: (r: Record<string, unknown>) => boolean; readonly says: string }>
> = {
  output: {
    members: ['kind', 'time', 'stream', 'line'],
    valid: (r) => (r['stream'] === 'stdout' || r['stream'] === 'stderr') && isString(r['line']),
    says: 'output: stream stdout|stderr and a string line',
  },
  log: {
    members: ['kind', 'time', 'level', 'message', 'fields'],
    valid: (r) => LEVELS.has(r['level'] as string) && isString(r['message'], 1024) && isObject(r['fields']),
    says: 'log: level, message and fields',
  },
  dropped: {
    members: ['kind', 'time', 'lines'],
    valid: (r) => Number.isSafeInteger(r['lines']) && (r['lines'] as number) >= 1,
    says: 'dropped: a positive count of lines',
  },
  heartbeat: {
    members: ['kind', 'time', 'moduleId', 'uptimeMs', 'metrics'],
    valid: (r) => isString(r['moduleId'], 128) && Number.isFinite(r['uptimeMs']) && Array.isArray(r['metrics']) && r['metrics'].every(checkFamily),
    says: 'heartbeat: moduleId, uptimeMs and metrics',
  },
  attestation: {
    members: ['kind', 'time', 'id', 'document', 'error'],
    valid: (r) => isString(r['id'], 64) && (r['document'] === undefined || isString(r['document'])) && (r['error'] === undefined || isString(r['error'], 1024)),
    says: 'attestation: id, and a base64 document or an error',
  },
};

/** The parent's strict reading of one line from the enclave. */
export function parseTelemetryUp(line: string): TelemetryUp {
  if (line.length > TELEMETRY_MAX_LINE_BYTES) fail(`a line of ${line.length} characters (at most ${TELEMETRY_MAX_LINE_BYTES})`);
  let r: unknown;
  try {
    r = JSON.parse(line);
  } catch {
    fail('a line that is not JSON');
  }
  if (!isObject(r) || !isString(r['time'] ?? '', 64)) fail('a record that is not an object with a time');
  const kind = typeof r['kind'] === 'string' && Object.hasOwn(UP_KINDS, r['kind']) ? UP_KINDS[r['kind'] as TelemetryUp['kind']] : undefined;
  if (kind === undefined) fail(`unknown kind ${JSON.stringify(String(r['kind']).slice(0, 32))}`);
  for (const k of Object.keys(r)) if (!kind.members.includes(k)) fail(`${String(r['kind'])}: unknown member ${JSON.stringify(k.slice(0, 64))}`);
  if (!kind.valid(r)) fail(kind.says);
  return r as TelemetryUp;
}

function checkFamily(family: unknown): true {
  if (!isObject(family) || !isString(family['name'], 128) || !METRIC_NAME.test(family['name']) || !isString(family['help'], 512))
    fail('heartbeat: a metric without a valid name and help');
  if (family['type'] !== 'counter' && family['type'] !== 'gauge' && family['type'] !== 'histogram') fail(`heartbeat: ${family['name']}: unknown type`);
  if (!Array.isArray(family['samples'])) fail(`heartbeat: ${family['name']}: samples must be a list`);
  for (const sample of family['samples'] as unknown[]) {
    if (!isObject(sample) || !isObject(sample['labels'])) fail(`heartbeat: ${family['name']}: a sample without labels`);
    for (const [k, v] of Object.entries(sample['labels'])) if (!LABEL_NAME.test(k) || !isString(v, 256)) fail(`heartbeat: ${family['name']}: label ${k}`);
    const numbers = [sample['value'], sample['sum'], sample['count']].filter((n) => n !== undefined);
    if (numbers.some((n) => typeof n !== 'number' || !Number.isFinite(n))) fail(`heartbeat: ${family['name']}: a value that is not a finite number`);
    if (sample['buckets'] !== undefined) {
      const buckets = sample['buckets'];
      if (!Array.isArray(buckets) || buckets.some((b) => !Array.isArray(b) || b.length !== 2 || !b.every((n) => typeof n === 'number' && !Number.isNaN(n))))
        fail(`heartbeat: ${family['name']}: buckets must be [le, count] pairs`);
    }
  }
  return true;
}

/** The enclave's strict reading of one line from the parent. */
export function parseTelemetryDown(line: string): TelemetryDown {
  let r: unknown;
  try {
    r = JSON.parse(line);
  } catch {
    fail('a line from the parent that is not JSON');
  }
  if (!isObject(r) || r['kind'] !== 'attest' || Object.keys(r).length !== 3) fail('the parent may only ask {"kind":"attest","id","nonce"}');
  if (!isString(r['id'], 64) || !/^[A-Za-z0-9_-]+$/.test(r['id'])) fail('attest: an id of letters, digits, "_" and "-"');
  if (!isString(r['nonce'], 2048) || !/^(?:[0-9a-f]{2}){1,1024}$/.test(r['nonce'])) fail('attest: a nonce of 1 to 1024 bytes, lower-case hex');
  return r as TelemetryDown;
}

/**
 * A nonce given as hex (`?nonce=HEX`, a header), either case, of `minBytes` to `maxBytes` (default 1 to
 * 1024, the NSM's limit), or undefined if it is not one.
 */
export function nonceParameter(hex: string | string[] | null | undefined, minBytes = 1, maxBytes = 1024): Uint8Array | undefined {
  if (typeof hex !== 'string' || hex.length % 2 !== 0 || hex.length < 2 * minBytes || hex.length > 2 * maxBytes || !/^[0-9a-fA-F]*$/.test(hex)) {
    return undefined;
  }
  return new Uint8Array(Buffer.from(hex, 'hex'));
}
