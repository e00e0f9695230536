export { NsmError, NSM_DEVICE_ERRORS, type NsmDeviceError, type NsmErrorCode } from './errors.js';
export {
  encodeNsmRequest,
  decodeNsmRequest,
  encodeNsmResponse,
  decodeNsmResponse,
  NSM_MAX_REQUEST_BYTES,
  NSM_MAX_RESPONSE_BYTES,
  type NsmRequest,
  type NsmResponse,
  type NsmDigest,
} from './codec.js';
export { NsmClient, NSM_LIMITS, type Nsm, type NsmTransport, type AttestOptions, type PcrState, type NsmDescription } from './client.js';
