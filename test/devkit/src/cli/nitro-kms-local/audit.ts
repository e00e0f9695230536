import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { type CliCommand, type CliIo, EXIT, UsageError } from '@nitro-datakey/shared/cli';
import { DevkitError } from '../../errors.js';
import type { AuditEvent } from '../../kms/audit.js';

const AUDIT_HELP = `Usage: nitro-kms-local audit --file FILE [--key KEY] [--operation NAME] [--denied] [--injected]

Prints the events of an audit file (--audit FILE of the server) that match, as JSON lines: --key (a key
id or ARN), --operation (an eventName), --denied (AccessDeniedException only), --injected (requests a
--fault or the admin endpoint changed: additionalEventData.injectedFault names the fault).

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
    options: { file: { type: 'string' }, key: { type: 'string' }, operation: { type: 'string' }, denied: { type: 'boolean' }, injected: { type: 'boolean' } },
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  if (values.file === undefined) throw new UsageError('--file FILE is required');
  let text: string;
  try {
    text = await readFile(values.file, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read ${values.file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  const key = values.key;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    let event: AuditEvent;
    try {
      event = JSON.parse(line) as AuditEvent;
    } catch {
      throw new DevkitError('ERR_KMS_DATA_DIR', `${values.file}: a line is not JSON`);
    }
    if (values.operation !== undefined && event.eventName !== values.operation) continue;
    if (values.denied && event.errorCode !== 'AccessDeniedException') continue;
    if (values.injected && event.additionalEventData?.['injectedFault'] === undefined) continue;
    if (key !== undefined && !event.resources.some((r) => r.ARN === key || r.ARN.endsWith(`:key/${key}`))) continue;
    io.stdout(`${line}\n`);
  }
  return EXIT.ok;
}
