import { logWarningsAsJson } from '@nitro-datakey/shared/cli';
import { nitroParentProxy } from './cli.js';

logWarningsAsJson();
process.exitCode = await nitroParentProxy(process.argv.slice(2));
