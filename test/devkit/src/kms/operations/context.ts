import type { AttestationVerifier, KmsRequestBody } from '@nitro-datakey/shared';
import type { PrincipalAttributes } from '@nitro-datakey/shared/policy';
import type { FaultConfig, FaultKind } from '../faults/config.js';
import type { KeyStore } from '../keystore.js';

/** Everything an operation needs about the server and the caller. */
export interface OperationContext {
  readonly store: KeyStore;
  readonly region: string;
  readonly account: string;
  readonly verifier: AttestationVerifier;
  readonly clock: () => Date;
  readonly principalArn: string;
  /** What IAM knows of the caller beyond its ARN (from --principal): aws:PrincipalTag/KEY, aws:PrincipalOrgID, aws:PrincipalOrgPaths. */
  readonly principalAttributes?: PrincipalAttributes;
  /** Whether a role or user a key policy names exists (strict IAM mode); absent, every well-formed principal does. */
  readonly principalExists?: (arn: string) => boolean;
  /** Identity (IAM) policies by principal ARN (a role's apply to its sessions), for every operation. */
  readonly iamPolicies?: ReadonlyMap<string, readonly string[]>;
  /**
   * `strict` (the default): a caller with no identity policy given has none, as on AWS, so a key policy
   * that names only the account root gives it nothing. `permissive`: such a caller's IAM allows all.
   */
  readonly iamMode: 'strict' | 'permissive';
  /**
   * Filled in as the request is read: the alias it named its key by (kms:RequestAlias), and the condition
   * keys its parameters set (kms:SigningAlgorithm, kms:DataKeyPairSpec, aws:RequestTag/KEY, ...).
   */
  readonly request?: { alias?: string; conditions?: Map<string, string | readonly string[]> };
  /** The connection the request came on: its peer address and whether TLS protected it. */
  readonly transport?: { readonly sourceIp: string; readonly secure: boolean };
  /** Filled in as the operation runs, for the audit trail (no key material ever goes in). */
  readonly audit?: AuditFacts;
  /** Refuse Recipient keys other than RSA-2048 (see KmsServerOptions.recipientRsa2048Only). */
  readonly recipientRsa2048Only?: boolean;
}

/** What an operation found out that CloudTrail would record: the key, the attestation, the decision. */
export interface AuditFacts {
  keyArn?: string;
  recipient?: { moduleId: string; pcrs: Record<string, string>; debug: boolean };
  decision?: { effect: 'Allow' | 'ExplicitDeny' | 'ImplicitDeny'; statement?: string };
  /** A fault the server injected into this request (not in CloudTrail: the local KMS's own field). */
  injectedFault?: FaultKind | NonNullable<FaultConfig['attested']>;
}

export type Operation = (body: KmsRequestBody, ctx: OperationContext) => Promise<Record<string, unknown>> | Record<string, unknown>;

export const keyArn = (ctx: OperationContext, keyId: string): string => `arn:aws:kms:${ctx.region}:${ctx.account}:key/${keyId}`;
export const aliasArn = (ctx: OperationContext, name: string): string => `arn:aws:kms:${ctx.region}:${ctx.account}:${name}`;
export const seconds = (ms: number): number => Math.floor(ms / 1000);
