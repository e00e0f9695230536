import { nitroSim } from './nitro-sim.js';

process.exitCode = await nitroSim(process.argv.slice(2));
