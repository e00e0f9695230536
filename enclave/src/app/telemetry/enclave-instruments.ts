import type { CallOutcome } from '../../kms/attested-client.js';
import type { SecretRefresh } from '../secrets-keeper.js';
import type { EnclaveMetrics } from './enclave-metrics.js';

// The enclave's metric names and what feeds them, in one place: the README's table lists the same.

/** An attested call: counted by operation and outcome, timed, and a KMS refusal counted by its exception. */
export function recordCall(metrics: EnclaveMetrics, call: CallOutcome): void {
  metrics.inc('nitro_enclave_kms_calls_total', 'Attested KMS calls by operation and outcome (ok or the error code).', {
    operation: call.operation,
    outcome: call.outcome,
  });
  metrics.observe(
    'nitro_enclave_kms_call_duration_ms',
    'Attested KMS call duration in ms, attestation and key wait included.',
    { operation: call.operation },
    call.ms,
  );
  if (call.kmsErrorName !== undefined)
    metrics.inc('nitro_enclave_kms_denials_total', 'KMS refusals by exception (AccessDeniedException, ...).', {
      operation: call.operation,
      error: call.kmsErrorName,
    });
}

export function recordSecret(metrics: EnclaveMetrics, refresh: SecretRefresh): void {
  metrics.inc('nitro_enclave_secrets_total', 'Looks at a secret by outcome (opened, rotated, unchanged, refused, failed).', {
    name: refresh.name,
    outcome: refresh.outcome,
  });
}

export function recordGatewayRequest(metrics: EnclaveMetrics, request: { readonly operation: string | null; readonly status: number }): void {
  metrics.inc('nitro_enclave_gateway_requests_total', 'Gateway requests by operation and HTTP status.', {
    operation: request.operation ?? 'unknown',
    status: String(request.status),
  });
}
