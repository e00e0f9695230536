import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { type AuditEvent, builtScript, spawnReady } from '@nitro-datakey/devkit';
import { DEMO_ACCESS_KEY_ID, type DemoHarness, localKmsStep, pkiStep, runDemo } from '@nitro-datakey/devkit/demo';
import { kernelShimEnv } from '../support/kernel-shim-env.js';

/*
 * `make demo-native`: the attested path with the real addon on both sides. The enclave app gets its
 * attestation through the addon's ioctl on /dev/nsm and reaches the proxy with vsock connect(); the
 * proxy accepts on vsock. Both kernel interfaces are emulated by the test build's LD_PRELOAD shim
 * (test/native): /dev/nsm goes to "nitro-sim nsm-device", AF_VSOCK to Unix sockets named by (cid, port).
 */
const USAGE = `Usage: node native.js --shim PATH/libnitro-kernel-shim.so --app PATH/app.mjs

Runs the attested data-key path with the real addon over the emulated kernel interfaces (make demo-native).
`;

const PARENT_CID = 3;
const ENCLAVE_CID = 16;
const OTHER_CID = 17;
const KMS_PORT = 8000;
const CREDENTIALS_PORT = 8001;
const SECRETS_PORT = 8003;
const TELEMETRY_PORT = 8004;
const VMADDR_CID_ANY = 0xffffffff;

function options(): { shim: string; app: string } | undefined {
  let values: { shim?: string | undefined; app?: string | undefined; help?: boolean | undefined };
  try {
    ({ values } = parseArgs({ options: { shim: { type: 'string' }, app: { type: 'string' }, help: { type: 'boolean', short: 'h' } } }));
  } catch (e) {
    process.stderr.write(`demo-native: ${(e as Error).message}\n${USAGE}`);
    process.exitCode = 2;
    return undefined;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return undefined;
  }
  if (values.shim === undefined || values.app === undefined) {
    process.stderr.write(`demo-native: --shim and --app are required\n${USAGE}`);
    process.exitCode = 2;
    return undefined;
  }
  return { shim: resolve(values.shim), app: resolve(values.app) };
}

/** JSON lines a process logged, the ones whose `msg` is `message`. */
function logged(stderr: string, message: string): Record<string, unknown>[] {
  return stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => l['msg'] === message);
}

async function main(demo: DemoHarness, shim: string, app: string): Promise<void> {
  const { dir, step, run } = demo;
  console.log(`nitro-datakey native demo (work directory ${dir})\n`);
  if (!existsSync(shim)) throw new Error(`${shim} is missing: build it with "make native-emulation"`);
  const network = `demo-${process.pid}-${randomBytes(4).toString('hex')}`;
  const nsmSocket = join(dir, 'nsm.sock');
  // Every process of the demo on one emulated vsock network, each with its own CID.
  const onCid = (cid: number, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({ ...kernelShimEnv({ shim, network, cid }), ...extra });
  const inEnclave = (cid: number) => kernelShimEnv({ shim, network, cid, nsmSocket });

  const { pki, measurements } = await pkiStep(demo, 'nitro-datakey demo enclave image');
  const kms = await localKmsStep(demo, pki, measurements, 'alias/app');

  const simBin = builtScript('@nitro-datakey/devkit', 'cli/nitro-sim-main.js');
  const device = await step(
    'NSM device emulator (nitro-sim nsm-device) behind the /dev/nsm ioctl',
    () =>
      spawnReady<{ socket: string; moduleId: string }>(simBin, [
        'nsm-device',
        '--socket',
        nsmSocket,
        '--pki-dir',
        join(dir, 'pki'),
        '--pcrs',
        join(dir, 'measurements.json'),
      ]),
    (d) => `module ${d.ready.moduleId}`,
  );
  demo.track(device.child);

  writeFileSync(
    join(dir, 'proxy.json'),
    JSON.stringify({
      routes: [{ listen: `vsock:${VMADDR_CID_ANY}:${KMS_PORT}`, upstream: `127.0.0.1:${kms.port}` }],
      allow: [`127.0.0.1:${kms.port}`],
      credentials: { listen: `vsock:${VMADDR_CID_ANY}:${CREDENTIALS_PORT}`, allowedCids: [ENCLAVE_CID] },
      secrets: { listen: `vsock:${VMADDR_CID_ANY}:${SECRETS_PORT}`, dir: join(dir, 'served'), allowedCids: [ENCLAVE_CID] },
      telemetry: { listen: `vsock:${VMADDR_CID_ANY}:${TELEMETRY_PORT}`, output: join(dir, 'enclave-telemetry.log'), allowedCids: [ENCLAVE_CID] },
    }),
  );
  mkdirSync(join(dir, 'served'));
  const proxy = await step(
    `parent proxy (CID ${PARENT_CID}) accepts on vsock ports ${KMS_PORT}, ${CREDENTIALS_PORT}, ${SECRETS_PORT} and ${TELEMETRY_PORT}`,
    () =>
      spawnReady<{ routes: { listen: string }[]; credentials: string }>(
        builtScript('@nitro-datakey/parent-proxy', 'main.js'),
        ['--config', join(dir, 'proxy.json')],
        20_000,
        // What the parent's default credential chain finds.
        onCid(PARENT_CID, { AWS_ACCESS_KEY_ID: DEMO_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: 'demo-secret-not-checked' }),
      ),
    (p) => `${p.ready.routes[0]?.listen}, credentials ${p.ready.credentials} (CID ${ENCLAVE_CID} only)`,
  );
  demo.track(proxy.child);

  const config = {
    region: 'us-east-1',
    kms: {
      transport: `vsock:${PARENT_CID}:${KMS_PORT}`,
      endpoint: `https://localhost:${kms.port}`,
      caFile: kms.caCertPath,
      allowedKeys: { 'alias/app': kms.keyArn },
    },
    credentials: { transport: `vsock:${PARENT_CID}:${CREDENTIALS_PORT}` },
    secrets: {
      dir: join(dir, 'run', 'secrets'),
      route: `vsock:${PARENT_CID}:${SECRETS_PORT}`,
      items: [
        { name: 'db-password', envelope: join(dir, 'db-password.sealed.json'), keyId: 'alias/app' },
        { name: 'api-token', keyId: 'alias/app' },
      ],
    },
    gateway: { listen: 'tcp:127.0.0.1:0' },
    telemetry: { route: `vsock:${PARENT_CID}:${TELEMETRY_PORT}`, heartbeatMs: 200 },
  };
  writeFileSync(join(dir, 'enclave.json'), JSON.stringify({ ...config, secrets: undefined }));
  writeFileSync(join(dir, 'enclave-with-secrets.json'), JSON.stringify(config));
  writeFileSync(join(dir, 'db-password.txt'), `demo password ${randomBytes(8).toString('hex')}`, { mode: 0o600 });
  const enclaveBin = builtScript('@nitro-datakey/enclave', 'app/main.js');

  await step(
    `enclave (CID ${ENCLAVE_CID}) seals db-password: NSM by ioctl, KMS by vsock`,
    () =>
      run(
        process.execPath,
        [
          enclaveBin,
          'seal',
          '--config',
          join(dir, 'enclave.json'),
          '--key-id',
          'alias/app',
          '--name',
          'db-password',
          '--out',
          join(dir, 'db-password.sealed.json'),
          join(dir, 'db-password.txt'),
        ],
        inEnclave(ENCLAVE_CID),
      ),
    () => 'db-password.sealed.json',
  );

  writeFileSync(join(dir, 'api-token.txt'), `demo token ${randomBytes(8).toString('hex')}`, { mode: 0o600 });
  const sealToken = ['seal', '--config', join(dir, 'enclave.json'), '--key-id', 'alias/app', '--name', 'api-token', '--version', '1'];
  await step(
    'the parent serves api-token, version 1, on its secrets route (vsock)',
    () => run(process.execPath, [enclaveBin, ...sealToken, '--out', join(dir, 'served', 'api-token.json'), join(dir, 'api-token.txt')], inEnclave(ENCLAVE_CID)),
    () => 'served/api-token.json',
  );

  const workload = await step(
    'nitro-enclave run: secret opened, eif/example/app.mjs gets a data key',
    async () => {
      const { stdout } = await run(process.execPath, [enclaveBin, 'run', '--config', join(dir, 'enclave-with-secrets.json'), '--', process.execPath, app], {
        ...inEnclave(ENCLAVE_CID),
        APP_KEY_ID: 'alias/app',
      });
      const line = stdout.split('\n').find((l) => l.includes('"dataKeyBytes"'));
      const result = line === undefined ? undefined : (JSON.parse(line) as { secretBytes: number; dataKeyBytes: number; keyId: string });
      if (result?.dataKeyBytes !== 32 || result.keyId !== kms.keyArn || result.secretBytes === 0) throw new Error(`the workload printed ${stdout}`);
      return result;
    },
    (r) => `secret ${r.secretBytes} bytes, data key ${r.dataKeyBytes} bytes`,
  );

  // The enclave as a service (nitro-enclave --config) on the same vsock network: rotate api-token while it runs.
  const service = await step(
    'the enclave as a service: api-token version 1 from the parent',
    () => spawnReady<{ moduleId: string; secrets: string[] }>(enclaveBin, ['--config', join(dir, 'enclave-with-secrets.json')], 20_000, inEnclave(ENCLAVE_CID)),
    (e) => `secrets ${e.ready.secrets.join(', ')}`,
  );
  demo.track(service.child);
  const tokenFile = join(dir, 'run', 'secrets', 'api-token');
  const served = (version: number) => join(dir, 'served', `api-token.v${version}.json`);
  await step(
    'rotation over vsock: version 2 served, SIGUSR2, the running enclave takes it',
    async () => {
      copyFileSync(join(dir, 'served', 'api-token.json'), served(1));
      writeFileSync(join(dir, 'api-token.txt'), 'demo token, version 2', { mode: 0o600 });
      const seal2 = [...sealToken.slice(0, -1), '2', '--out', join(dir, 'served', 'api-token.json'), join(dir, 'api-token.txt')];
      await run(process.execPath, [enclaveBin, ...seal2], inEnclave(ENCLAVE_CID));
      service.child.kill('SIGUSR2');
      await until(() => existsSync(tokenFile) && readFileSync(tokenFile, 'utf8') === 'demo token, version 2', 'version 2 in the enclave');
    },
    () => 'the workload reads version 2',
  );
  await step('refused over vsock: version 1 served again (ERR_SECRET_ROLLBACK), the file keeps version 2', async () => {
    copyFileSync(served(1), join(dir, 'served', '.api-token.tmp'));
    renameSync(join(dir, 'served', '.api-token.tmp'), join(dir, 'served', 'api-token.json'));
    service.child.kill('SIGUSR2');
    await until(() => readFileSync(join(dir, 'enclave-telemetry.log'), 'utf8').includes('ERR_SECRET_ROLLBACK'), 'the refusal in the parent log');
    if (readFileSync(tokenFile, 'utf8') !== 'demo token, version 2') throw new Error('the rollback was taken');
  });
  service.child.kill('SIGTERM');

  const telemetry = await step('the enclave log reached the parent over the telemetry route (vsock)', async () => {
    const lines = readFileSync(join(dir, 'enclave-telemetry.log'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const fromModule = lines.filter((l) => l['enclave'] === device.ready.moduleId);
    const opened = fromModule.find((l) => l['message'] === 'secret opened' && (l['fields'] as { name?: string })['name'] === 'api-token');
    const output = fromModule.find((l) => l['stream'] === 'stdout' && String(l['line']).includes('"dataKeyBytes"'));
    if (!opened || !output) throw new Error('the enclave log on the parent lacks the secret or the workload output');
    return { lines: fromModule.length };
  });

  await step(`refused: a process on CID ${OTHER_CID} asks the proxy for credentials`, async () => {
    const attempt = await run(process.execPath, [enclaveBin, 'kms', 'genrandom', '--config', join(dir, 'enclave.json'), '--bytes', '32'], inEnclave(OTHER_CID))
      .then(() => 'answered')
      .catch(() => 'failed');
    if (attempt !== 'failed') throw new Error(`CID ${OTHER_CID} got credentials`);
    const refusals = logged(proxy.stderr(), 'credentials refused').filter((l) => String(l['peer']).startsWith(`vsock:${OTHER_CID}:`));
    if (refusals[0]?.['reason'] !== 'cid-not-allowed') throw new Error(`the proxy did not log the refusal of CID ${OTHER_CID}`);
  });

  // What each side saw, from its own records: the proxy's peers (CIDs the addon read from accept), the
  // device's ioctls, and the KMS's audit trail of the attested calls.
  const evidence = await step('each side saw the other through the native layer', async () => {
    const handedOut = logged(proxy.stderr(), 'credentials handed out').map((l) => String(l['peer']));
    if (handedOut.length === 0 || !handedOut.every((p) => p.startsWith(`vsock:${ENCLAVE_CID}:`)))
      throw new Error(`credentials went to ${handedOut.join(', ')}`);
    const ioctls = logged(device.stderr(), 'nsm request').map((l) => String(l['request']));
    const attestations = ioctls.filter((r) => r === 'Attestation').length;
    if (attestations === 0) throw new Error('no attestation went through the ioctl');
    const attested = readFileSync(kms.auditPath, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as AuditEvent)
      .filter((e) => e.additionalEventData?.['recipient'] !== undefined);
    const modules = new Set(
      attested.map((e) => (e.additionalEventData?.['recipient'] as { attestationDocumentModuleId?: string } | undefined)?.attestationDocumentModuleId),
    );
    if (attested.length === 0 || modules.size !== 1 || !modules.has(device.ready.moduleId))
      throw new Error(`attested calls came from ${[...modules].join(', ')}`);
    return { handedOut, ioctls, attested };
  });

  console.log(`\n${demo.report()}`);
  const peers = [...new Set(evidence.handedOut.map((p) => p.split(':').slice(0, 2).join(':')))].join(', ');
  console.log(`
What each side recorded:
  proxy (CID ${PARENT_CID})     credentials to ${peers} (${evidence.handedOut.length}x); CID ${OTHER_CID} refused
  NSM device        ${evidence.ioctls.length} ioctls (${[...new Set(evidence.ioctls)].join(', ')}), module ${device.ready.moduleId}
  local KMS audit   ${evidence.attested.length} attested calls (${[...new Set(evidence.attested.map((e) => e.eventName))].join(', ')}), all from that module
  workload          read a ${workload.secretBytes}-byte secret, got a ${workload.dataKeyBytes}-byte data key for ${workload.keyId.split(':').slice(-1)[0]}
  telemetry         ${telemetry.lines} lines from the enclave (its log and the workload's output) in the parent's log

The kernel interfaces were emulated (LD_PRELOAD ${shim.split('/').slice(-1)[0]}); the addon, the proxy and the
enclave app were the production code.`);
}

/** Polls `done` every 100 ms for up to 10 s. */
async function until(done: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (done()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const parsed = options();
if (parsed) await runDemo('nitro-datakey-native-', (demo) => main(demo, parsed.shim, parsed.app));
