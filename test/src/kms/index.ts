export { startLocalKms, type LocalKms, type LocalKmsOptions } from './server.js';
export { readSeedFile, type SeedFile, type SeedKey } from './seed.js';
export { defaultKeyPolicy } from './policy.js';
