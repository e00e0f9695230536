import { jsonLogger, routeProcessWarnings } from '@nitro-datakey/shared/cli';
import { nitroKmsLocal } from './nitro-kms-local.js';

const log = jsonLogger();
routeProcessWarnings(log);
process.exitCode = await nitroKmsLocal(process.argv.slice(2), { log });
