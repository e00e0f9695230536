/**
 * `@nitro-datakey/devkit/demo`: the building blocks of `make demo` (a harness that prints a report and
 * cleans up, the simulated PKI step, the local KMS step), for demos of your own on other transports.
 */
export { runDemo, type DemoHarness } from './harness.js';
export { DEMO_ACCESS_KEY_ID, localKmsStep, pkiStep, setFaults, type DemoKms } from './steps.js';
