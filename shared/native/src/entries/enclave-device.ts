/** `@nitro-datakey/native/enclave-device`: what only an enclave uses: /dev/nsm and the loopback interface. */
export { bringUpLoopback } from '../loopback.js';
export { NsmDeviceTransport, openNsmDevice, NSM_DEVICE_PATH } from '../nsm-device.js';
