import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { type CliCommand, type CliIo, EXIT, UsageError } from '@nitro-datakey/shared/cli';
import { DevkitError } from '../../errors.js';
import type { AuditEvent } from '../../kms/audit.js';
import { auditTable } from '../../kms/audit-table.js';
import { OPERATIONS } from '../../kms/operations/index.js';

const AUDIT_HELP = `Usage: nitro-kms-local audit --file FILE [--key KEY] [--operation NAME] [--denied] [--injected] [--format json|table]

Prints the events of an audit file (--audit FILE of the server) that match: --key (a key id or ARN),
--operation (a KMS operation, e.g. GenerateDataKey), --denied (AccessDeniedException only), --injected
(requests a --fault or the admin endpoint changed: additionalEventData.injectedFault names the fault).

  --format json    one CloudTrail-shaped JSON event per line, for scripts (the default)
  --format table   time, operation, principal, attested PCR0 and outcome, one line each
  -h, --help       show this help

Exit status: 0 ok, 1 failed, 2 usage error.
`;

export const auditCommand: CliCommand = {
  help: AUDIT_HELP,
  run: (argv, { io }) => audit(argv, io),
};

/** `nitro-kms-local audit`: the matching events of an audit file, as JSON lines. */
async function audit(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      file: { type: 'string' },
      key: { type: 'string' },
      operation: { type: 'string' },
      denied: { type: 'boolean' },
      injected: { type: 'boolean' },
      format: { type: 'string', default: 'json' },
    },
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  if (values.file === undefined) throw new UsageError('--file FILE is required');
  if (values.format !== 'json' && values.format !== 'table') throw new UsageError(`--format is json or table, got ${JSON.stringify(values.format)}`);
  if (values.operation !== undefined && !Object.hasOwn(OPERATIONS, values.operation)) {
    throw new UsageError(`--operation: ${JSON.stringify(values.operation)} is not a KMS operation the local KMS serves (e.g. GenerateDataKey, Decrypt)`);
  }
  let text: string;
  try {
    text = await readFile(values.file, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read ${values.file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  const matched: AuditEvent[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    let event: AuditEvent;
    try {
      event = JSON.parse(line) as AuditEvent;
    } catch {
      throw new DevkitError('ERR_KMS_DATA_DIR', `${values.file}: a line is not JSON`);
    }
    if (!matches(event, values)) continue;
    if (values.format === 'json') io.stdout(`${line}\n`);
    else matched.push(event);
  }
  if (values.format === 'table') io.stdout(auditTable(matched));
  return EXIT.ok;
}

interface AuditFilter {
  readonly key?: string | undefined;
  readonly operation?: string | undefined;
  readonly denied?: boolean | undefined;
  readonly injected?: boolean | undefined;
}

function matches(event: AuditEvent, filter: AuditFilter): boolean {
  const { key } = filter;
  if (filter.operation !== undefined && event.eventName !== filter.operation) return false;
  if (filter.denied && event.errorCode !== 'AccessDeniedException') return false;
  if (filter.injected && event.additionalEventData?.['injectedFault'] === undefined) return false;
  return key === undefined || event.resources.some((r) => r.ARN === key || r.ARN.endsWith(`:key/${key}`));
}
