import type { AuditEvent } from './audit.js';

/** What the table shows of an event's outcome: the error, an injected fault, or ok. */
function outcome(event: AuditEvent): string {
  const fault = event.additionalEventData?.['injectedFault'];
  const decision = (event.additionalEventData?.['policyDecision'] as { effect?: string } | undefined)?.effect;
  if (event.errorCode !== undefined) return `${event.errorCode}${decision ? ` (${decision})` : ''}`;
  return fault === undefined ? 'ok' : `ok, injected fault: ${String(fault)}`;
}

/** The first 16 hex digits of the attested PCR0, '-' for a call without an attestation document. */
function pcr0(event: AuditEvent): string {
  const recipient = event.additionalEventData?.['recipient'] as { attestationDocumentEnclavePCRs?: Record<string, string> } | undefined;
  const value = recipient?.attestationDocumentEnclavePCRs?.['PCR0'];
  return value === undefined ? '-' : `${value.slice(0, 16)}...`;
}

/** Audit events as a table a person reads: time, operation, principal, attested PCR0, outcome. */
export function auditTable(events: readonly AuditEvent[]): string {
  const rows = [
    ['TIME', 'OPERATION', 'PRINCIPAL', 'PCR0', 'OUTCOME'],
    ...events.map((e) => [e.eventTime, e.eventName, e.userIdentity.arn, pcr0(e), outcome(e)]),
  ];
  const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => (r[i] as string).length)));
  return `${rows.map((r) => r.map((cell, i) => (i < 4 ? cell.padEnd(widths[i] as number) : cell)).join('  ')).join('\n')}\n`;
}
