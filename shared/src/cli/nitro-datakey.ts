import { jsonLogger, routeProcessWarnings } from './log.js';
import { nitroDatakey } from './main.js';

routeProcessWarnings(jsonLogger());
process.exitCode = await nitroDatakey(process.argv.slice(2));
