export { EnclaveError, type EnclaveErrorCode } from './errors.js';
export { loadNativeAddon, type NativeAddon, type NativeError } from './native.js';
export { NsmDeviceTransport, openNsmDevice, NSM_DEVICE_PATH } from './nsm/device.js';
export * from './transport/index.js';
export { parentCredentialsProvider, fetchParentCredentials, CredentialsError, type AwsCredentials, type ParentCredentialsOptions } from './credentials.js';
