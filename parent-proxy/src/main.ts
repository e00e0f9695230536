import { nitroParentProxy } from './cli.js';

process.exitCode = await nitroParentProxy(process.argv.slice(2));
