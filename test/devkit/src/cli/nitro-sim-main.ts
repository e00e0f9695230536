import { jsonLogger, routeProcessWarnings } from '@nitro-datakey/shared/cli';
import { nitroSim } from './nitro-sim.js';

routeProcessWarnings(jsonLogger());
process.exitCode = await nitroSim(process.argv.slice(2));
