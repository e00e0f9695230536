import type { AuditFacts } from './operations/index.js';

/*
 * The local KMS's audit trail, shaped like CloudTrail's KMS events (AWS CloudTrail User Guide, "CloudTrail
 * record contents"; KMS's attested calls add additionalEventData.recipient). One JSON object per request.
 * Request parameters pass through an allowlist: no plaintext, no ciphertext blob, no public key, and of
 * a Recipient only its algorithm; the attestation document itself never goes in.
 */
export interface AuditEvent {
  readonly eventVersion: '1.08';
  readonly eventTime: string;
  readonly eventSource: 'kms.amazonaws.com';
  readonly eventName: string;
  readonly awsRegion: string;
  readonly requestID: string;
  readonly userIdentity: { readonly type: string; readonly arn: string; readonly accountId: string };
  readonly requestParameters: Readonly<Record<string, unknown>>;
  readonly resources: readonly { readonly ARN: string; readonly type: 'AWS::KMS::Key' }[];
  readonly errorCode?: string;
  readonly errorMessage?: string;
  readonly additionalEventData?: Readonly<Record<string, unknown>>;
}

const LOGGED_PARAMETERS = new Set([
  'KeyId',
  'KeySpec',
  'NumberOfBytes',
  'KeyPairSpec',
  'EncryptionContext',
  'SourceEncryptionContext',
  'DestinationEncryptionContext',
  'DryRun',
  'AliasName',
  'TargetKeyId',
  'Description',
  'KeyUsage',
  'EncryptionAlgorithm',
  'KeyAgreementAlgorithm',
  'RotationPeriodInDays',
  'PolicyName',
  'Limit',
  'SourceKeyId',
  'DestinationKeyId',
  'PendingWindowInDays',
  'BypassPolicyLockoutSafetyCheck',
]);

export function auditEvent(input: {
  requestId: string;
  operation: string;
  region: string;
  account: string;
  principalArn: string;
  body: Readonly<Record<string, unknown>>;
  facts: AuditFacts;
  errorType: string | undefined;
  errorMessage: string | undefined;
  time: Date;
}): AuditEvent {
  const requestParameters: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(input.body)) {
    // Keys first letter lower-cased, as CloudTrail writes them.
    if (LOGGED_PARAMETERS.has(k)) requestParameters[k.charAt(0).toLowerCase() + k.slice(1)] = v;
  }
  const recipient = input.body['Recipient'];
  if (recipient !== null && typeof recipient === 'object') {
    requestParameters['recipient'] = { keyEncryptionAlgorithm: (recipient as Record<string, unknown>)['KeyEncryptionAlgorithm'] ?? 'RSAES_OAEP_SHA_256' };
  }
  const account = input.principalArn.split(':')[4];
  const additional: Record<string, unknown> = {};
  if (input.facts.recipient) {
    additional['recipient'] = {
      attestationDocumentModuleId: input.facts.recipient.moduleId,
      attestationDocumentEnclavePCRs: input.facts.recipient.pcrs,
      attestationDocumentDebugMode: input.facts.recipient.debug,
    };
  }
  if (input.facts.decision) additional['policyDecision'] = input.facts.decision;
  // Not a CloudTrail field: marks an answer the local KMS changed or withheld on purpose (fault injection).
  if (input.facts.injectedFault) additional['injectedFault'] = input.facts.injectedFault;
  return {
    eventVersion: '1.08',
    eventTime: input.time.toISOString(),
    eventSource: 'kms.amazonaws.com',
    eventName: input.operation,
    awsRegion: input.region,
    requestID: input.requestId,
    userIdentity: {
      type: input.principalArn.includes(':assumed-role/') ? 'AssumedRole' : account ? 'IAMUser' : 'Anonymous',
      arn: input.principalArn,
      accountId: account ?? '',
    },
    requestParameters,
    resources: input.facts.keyArn ? [{ ARN: input.facts.keyArn, type: 'AWS::KMS::Key' }] : [],
    ...(input.errorType ? { errorCode: input.errorType, ...(input.errorMessage ? { errorMessage: input.errorMessage } : {}) } : {}),
    ...(Object.keys(additional).length > 0 ? { additionalEventData: additional } : {}),
  };
}
