import { logWarningsAsJson } from '@nitro-datakey/shared/cli';
import { nitroKmsLocal } from './nitro-kms-local.js';

logWarningsAsJson();
process.exitCode = await nitroKmsLocal(process.argv.slice(2));
