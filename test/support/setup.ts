import { jsonLogger, routeProcessWarnings } from '@nitro-datakey/shared/cli';

// Same routing as every bin and the demo; a test run shows warnings, not the SDK's Node-version notice.
routeProcessWarnings(jsonLogger((line) => process.stderr.write(line), { minLevel: 'warn' }));
