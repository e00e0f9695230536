/**
 * `@nitro-datakey/parent-proxy`: what runs on the parent EC2 instance, and nothing else. It forwards
 * the enclave's bytes to allowlisted KMS endpoints (TLS ends inside the enclave, so it sees only
 * ciphertext) and hands the enclave the instance's credentials. It never loads the KMS SDK or any
 * enclave code: it depends on @nitro-datakey/shared and @nitro-datakey/native only.
 *
 * @example
 * ```ts
 * import { loadConfigFile, startProxy } from '@nitro-datakey/parent-proxy';
 * const proxy = await startProxy(await loadConfigFile('/etc/nitro-datakey/proxy.yaml'));
 * ```
 */
export { ProxyConfigError } from './errors.js';
export {
  parseConfigText,
  loadConfigFile,
  configFromValues,
  defaultAllowlist,
  formatUpstream,
  DEFAULT_LIMITS,
  type ProxyConfig,
  type RouteConfig,
  type Upstream,
} from './config.js';
export { startProxy, type RunningProxy, type ProxyOptions } from './proxy.js';
export { CredentialsService, type CredentialProvider } from './credentials.js';
export { forward, type ForwardResult, type CloseReason } from './forward.js';
export { Metrics } from './metrics.js';
export { nitroParentProxy } from './cli.js';
