/** `@nitro-datakey/shared/credentials`: The credentials protocol between the parent's credentials route and the enclave, and the refreshing cache. */
export {
  CredentialsError,
  encodeCredentialsResponse,
  encodeCredentialsUnavailable,
  parseCredentialsResponse,
  cachedCredentialsProvider,
  CREDENTIALS_MAX_RESPONSE_BYTES,
  DEFAULT_REFRESH_MARGIN_MS,
  type AwsCredentials,
  type CredentialsErrorCode,
  type CachedCredentialsOptions,
} from '../credentials/protocol.js';
