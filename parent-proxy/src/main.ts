import { jsonLogger, routeProcessWarnings } from '@nitro-datakey/shared/cli';
import { nitroParentProxy } from './cli.js';

const log = jsonLogger();
routeProcessWarnings(log);
process.exitCode = await nitroParentProxy(process.argv.slice(2), { log });
