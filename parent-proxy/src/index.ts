export { ProxyConfigError } from './errors.js';
export { parseConfigText, loadConfigFile, configFromValues, defaultAllowlist, formatUpstream, DEFAULT_LIMITS, type ProxyConfig, type RouteConfig, type Upstream } from './config.js';
export { startProxy, type RunningProxy, type ProxyOptions } from './proxy.js';
export { CredentialsService, REFRESH_MARGIN_MS, type Credentials, type CredentialProvider } from './credentials.js';
export { forward, type ForwardResult, type CloseReason } from './forward.js';
export { Metrics } from './metrics.js';
export { jsonLogger, silentLogger, type Logger } from './log.js';
export { nitroParentProxy } from './cli.js';
