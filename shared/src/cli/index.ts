export { main, usage } from './main.js';
export { EXIT, UsageError, onePositional, stopSignals, processIo, readBinaryInput, parseHexArg, parseTimeArg, type CliIo } from './io.js';
export { logWarningsAsJson } from './warnings.js';
