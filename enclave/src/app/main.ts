import { logWarningsAsJson } from '@nitro-datakey/shared/cli';
import { nitroEnclave } from './cli.js';

logWarningsAsJson();
process.exitCode = await nitroEnclave(process.argv.slice(2));
