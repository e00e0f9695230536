import { jsonLogger, routeProcessWarnings } from '@nitro-datakey/shared/cli';
import { nitroDatakey } from './main.js';

routeProcessWarnings(jsonLogger());
process.exitCode = await nitroDatakey(process.argv.slice(2));
