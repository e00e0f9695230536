/** `@nitro-datakey/shared/telemetry`: The telemetry route: the enclave's output, log records, heartbeat and metrics up; attestation requests down. */
export * from '../telemetry/protocol.js';
