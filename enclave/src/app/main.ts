import { jsonLogger, routeProcessWarnings } from '@nitro-datakey/shared/cli';
import { nitroEnclave } from './cli.js';

const log = jsonLogger();
routeProcessWarnings(log);
process.exitCode = await nitroEnclave(process.argv.slice(2), { log });
