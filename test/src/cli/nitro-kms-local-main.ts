import { nitroKmsLocal } from './nitro-kms-local.js';

process.exitCode = await nitroKmsLocal(process.argv.slice(2));
