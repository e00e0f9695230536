import { nitroEnclave } from './cli.js';

process.exitCode = await nitroEnclave(process.argv.slice(2));
