/** `@nitro-datakey/shared/attested-http`: attestedFetch, a fail-closed client for services in an enclave, and the answer binding the enclave's front uses. */
export * from '../attested-http/binding.js';
export * from '../attested-http/attested-fetch.js';
