import { parseArgs } from 'node:util';
import { type CliCommand, type CliContext, runService, UsageError } from '@nitro-datakey/shared/cli';
import { serveNsmDevice } from '../../nsm/device-server.js';
import { NitroPki } from '../../nsm/pki.js';
import { SimulatedNsm } from '../../nsm/simulated-nsm.js';
import { measurementsOption } from './options.js';

const NSM_DEVICE_HELP = `Usage: nitro-sim nsm-device --socket PATH --pki-dir DIR [--pcrs measurements.json] [--debug]

Serves the NSM device's request and response bytes on a Unix socket (mode 0600) for the test build's
LD_PRELOAD shim, which stands in for /dev/nsm so the real addon's ioctl reaches a simulated NSM
("make demo-native"). Prints a JSON ready line, logs each request's type (never its bytes) as a JSON
line on stderr, and stops on SIGINT or SIGTERM.

Exit status: 0 ok, 1 failed, 2 usage error.
`;

export const nsmDeviceCommand: CliCommand = {
  help: NSM_DEVICE_HELP,
  run: (argv, context) => nsmDevice(argv, context),
};

/** The NSM device's bytes on a Unix socket, for the LD_PRELOAD shim of the test build. */
async function nsmDevice(argv: readonly string[], { io, signals, log }: CliContext): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: { socket: { type: 'string' }, 'pki-dir': { type: 'string' }, pcrs: { type: 'string' }, debug: { type: 'boolean' } },
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  if (values.socket === undefined) throw new UsageError('--socket PATH is required');
  if (values['pki-dir'] === undefined) throw new UsageError('--pki-dir DIR is required (create one with "nitro-sim pki init DIR")');
  const socketPath = values.socket;
  const measurements = await measurementsOption(values.pcrs);
  const pki = await NitroPki.load(values['pki-dir']);
  return runService(
    'nitro-sim',
    async () => {
      const nsm = await SimulatedNsm.boot({ pki, ...(measurements ? { measurements } : {}), ...(values.debug ? { debug: true } : {}) });
      const device = await serveNsmDevice(nsm, socketPath, { onRequest: (type) => log('info', 'nsm request', { request: type }) });
      return {
        ready: { socket: device.path, moduleId: nsm.moduleId, rootFingerprint: pki.rootFingerprint, pid: process.pid },
        close: async () => {
          await device.close();
          nsm.close();
        },
      };
    },
    io,
    signals,
  );
}
