import { spawn as nodeSpawn, spawnSync, type SpawnOptions } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync, lstatSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nitroEnclave, sealSecret } from '@nitro-datakey/enclave';
import { startStack, type Stack } from '@nitro-datakey/devkit';
import { projectRoot, stackEnclaveConfig } from '../../support/index.js';

/*
 * `nitro-enclave run`: the supervisor a user's image runs. Secrets first, then the gateway, then the
 * workload with both in its environment; its exit status passed through; stop signals passed on; the
 * gateway gone once the workload is.
 */

let stack: Stack;
let dir: string;
let configFile: string;

beforeAll(async () => {
  stack = await startStack();
  dir = mkdtempSync(join(tmpdir(), 'ndk-run-'));
  const envelope = join(dir, 'db.sealed.json');
  const sealed = await sealSecret(stack.client, new TextEncoder().encode('hunter2-but-longer'), { keyId: stack.keyId, name: 'db-password' });
  writeFileSync(envelope, JSON.stringify(sealed));
  const base = stackEnclaveConfig(stack, dir, { app: stack.keyId });
  const config = (items: unknown[], extra: Record<string, unknown> = {}) => ({
    ...base,
    secrets: { dir: join(dir, 'secrets'), items },
    gateway: { listen: 'tcp:127.0.0.1:0' },
    ...extra,
  });
  configFile = join(dir, 'enclave.json');
  writeFileSync(configFile, JSON.stringify(config([{ name: 'db-password', envelope, keyId: 'app' }])));
  writeFileSync(
    join(dir, 'unix-gateway.json'),
    JSON.stringify(config([{ name: 'db-password', envelope, keyId: 'app' }], { gateway: { listen: `unix:${join(dir, 'kms.sock')}` } })),
  );
  writeFileSync(join(dir, 'wrong-item.json'), JSON.stringify(config([{ name: 'api-token', envelope, keyId: 'app' }])));
  writeFileSync(
    join(dir, 'with-command.json'),
    JSON.stringify(config([{ name: 'db-password', envelope, keyId: 'app' }], { run: { command: [process.execPath, '-e', 'process.exit(5)'] } })),
  );
}, 60_000);

afterAll(async () => {
  await stack?.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Run {
  status: number;
  stdout: string;
  stderr: string;
}

/** nitro-enclave run in-process on the stack's simulated NSM, the workload's output captured. */
function runEnclave(argv: string[], onStdout?: (text: string, signals: EventEmitter) => void, stopGraceMs?: number): Promise<Run> {
  const signals = new EventEmitter();
  let stdout = '';
  let stderr = '';
  const spawn = (file: string, args: readonly string[], options: SpawnOptions) => {
    // APP_KEY_ID: what the example app's deployment sets (the key ARN its data keys come from).
    const env = { ...options.env, APP_KEY_ID: stack.keyId };
    const child = nodeSpawn(file, [...args], { ...options, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString();
      onStdout?.(stdout, signals);
    });
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    return child;
  };
  const io = { stdout: (t: string | Uint8Array) => (stdout += String(t)), stderr: (t: string) => (stderr += t), readStdin: async () => new Uint8Array(0) };
  return nitroEnclave(['run', ...argv], {
    io,
    signals: signals as unknown as NodeJS.Process,
    openNsm: () => stack.nsm,
    spawn,
    ...(stopGraceMs !== undefined ? { stopGraceMs } : {}),
  }).then((status) => ({ status, stdout, stderr }));
}

const node = (script: string) => ['--', process.execPath, '-e', script];

describe('nitro-enclave run', () => {
  it('runs the example app: it reads its opened secret and gets a data key through the gateway', async () => {
    const r = await runEnclave(['--config', configFile, '--', process.execPath, join(projectRoot(), 'eif/example/app.mjs')]);
    expect(r.stderr).not.toMatch(/"level":"error"|Exception/);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout.trim().split('\n').pop() as string)).toEqual({ secretBytes: 18, dataKeyBytes: 32, keyId: stack.keyId });
  });

  it('runs the example app on a Unix-socket gateway, as eif/example/enclave.json configures it', async () => {
    const r = await runEnclave(['--config', join(dir, 'unix-gateway.json'), '--', process.execPath, join(projectRoot(), 'eif/example/app.mjs')]);
    expect(r.stderr).not.toMatch(/"level":"error"|Exception/);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout.trim().split('\n').pop() as string)).toEqual({ secretBytes: 18, dataKeyBytes: 32, keyId: stack.keyId });
  });

  it('gives the workload the gateway, its URL for the SDK, the secrets directory and the module id', async () => {
    const r = await runEnclave(['--config', configFile, ...node('console.log(JSON.stringify(process.env))')]);
    expect(r.status).toBe(0);
    const env = JSON.parse(r.stdout) as Record<string, string>;
    expect(env['NITRO_DATAKEY_SECRETS_DIR']).toBe(join(dir, 'secrets'));
    expect(env['NITRO_DATAKEY_GATEWAY']).toMatch(/^tcp:127\.0\.0\.1:\d+$/);
    const port = env['NITRO_DATAKEY_GATEWAY']?.split(':')[2];
    expect(env['NITRO_DATAKEY_GATEWAY_URL']).toBe(`http://127.0.0.1:${port}`);
    expect(env['AWS_ENDPOINT_URL_KMS']).toBe(env['NITRO_DATAKEY_GATEWAY_URL']);
    expect(env['AWS_REGION']).toBe(stack.kms.region);
    expect(env['NITRO_DATAKEY_MODULE_ID']).toMatch(/^i-[0-9a-f]+-enc[0-9a-f]+$/);
    // Once the workload has exited, the gateway is gone.
    const refused = await new Promise<string>((resolve) => {
      const s = connect(Number(port), '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve('connected');
      });
      s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
    });
    expect(refused).toBe('ECONNREFUSED');
  });

  it("passes the workload's exit status through, and 128+N for a signal", async () => {
    expect((await runEnclave(['--config', configFile, ...node('process.exit(7)')])).status).toBe(7);
    expect((await runEnclave(['--config', configFile, ...node("process.kill(process.pid, 'SIGKILL')")])).status).toBe(137);
  });

  it('passes SIGTERM on and waits for the workload to stop', async () => {
    const script = "process.on('SIGTERM', () => { console.log('stopping cleanly'); process.exit(0); }); console.log('up'); setInterval(() => {}, 1000);";
    let sent = false;
    const r = await runEnclave(['--config', configFile, ...node(script)], (out, signals) => {
      if (!sent && out.includes('up')) {
        sent = true;
        signals.emit('SIGTERM');
      }
    });
    expect(r.stdout).toContain('stopping cleanly');
    expect(r.status).toBe(0);
  });

  it('passes SIGHUP on and stays; SIGQUIT stops the workload (the supervisor never dies leaving it behind)', async () => {
    const hup = "process.on('SIGHUP', () => { console.log('reloaded'); process.exit(3); }); console.log('up'); setInterval(() => {}, 1000);";
    let sent = false;
    const r = await runEnclave(['--config', configFile, ...node(hup)], (out, signals) => {
      if (!sent && out.includes('up')) {
        sent = true;
        signals.emit('SIGHUP');
      }
    });
    expect(r.stdout).toContain('reloaded');
    expect(r.status).toBe(3);
    let quit = false;
    const q = await runEnclave(['--config', configFile, ...node("console.log('up'); setInterval(() => {}, 1000);")], (out, signals) => {
      if (!quit && out.includes('up')) {
        quit = true;
        signals.emit('SIGQUIT');
      }
    });
    expect(q.status).toBe(128 + 3); // SIGQUIT's default action ended it
  }, 20_000);

  it('removes the opened secrets when it exits, whatever the workload did', async () => {
    const secret = join(dir, 'secrets', 'db-password');
    const seen = await runEnclave(['--config', configFile, ...node(`console.log(require('fs').existsSync(${JSON.stringify(secret)}))`)]);
    expect(seen.stdout.trim()).toBe('true');
    expect(existsSync(secret)).toBe(false);
    await runEnclave(['--config', configFile, ...node("process.kill(process.pid, 'SIGKILL')")]);
    expect(existsSync(secret)).toBe(false);
  });

  it("passes an explicit environment: the listed variables of its own, the config's run.env, nothing else", async () => {
    const withEnv = join(dir, 'with-env.json');
    const base = JSON.parse(readFileSync(configFile, 'utf8')) as Record<string, unknown>;
    writeFileSync(withEnv, JSON.stringify({ ...base, run: { env: { APP_MODE: 'production' }, passEnv: ['PATH', 'NDK_PASSED'] } }));
    process.env['NDK_PASSED'] = 'yes';
    process.env['NDK_LAUNCHER_ONLY'] = 'operator-shell-secret';
    try {
      const r = await runEnclave(['--config', withEnv, ...node('console.log(JSON.stringify(process.env))')]);
      const env = JSON.parse(r.stdout) as Record<string, string>;
      expect(env).toMatchObject({ APP_MODE: 'production', NDK_PASSED: 'yes', AWS_REGION: stack.kms.region });
      expect(env['NDK_LAUNCHER_ONLY']).toBeUndefined();
      expect(env['HOME']).toBeUndefined(); // not listed in passEnv
    } finally {
      delete process.env['NDK_PASSED'];
      delete process.env['NDK_LAUNCHER_ONLY'];
    }
    const r = await runEnclave(['--config', configFile, ...node('console.log(JSON.stringify(process.env))')]);
    expect(Object.keys(JSON.parse(r.stdout) as object)).not.toContain('VITEST');
  });

  it('ties the workload to its own life: a SIGKILLed supervisor takes the workload with it', async () => {
    const pki = join(dir, 'pki');
    const sim = join(projectRoot(), 'test/devkit/bin/nitro-sim.js');
    expect(spawnSync(process.execPath, [sim, 'pki', 'init', pki]).status).toBe(0);
    // No secrets and no gateway: the supervisor needs no KMS to start a workload.
    const bare = join(dir, 'bare.json');
    writeFileSync(bare, JSON.stringify({ region: 'us-east-1', kms: { transport: 'tcp:127.0.0.1:9' }, credentials: { transport: 'tcp:127.0.0.1:9' } }));
    const pidFile = join(dir, 'workload.pid');
    const script = `require('fs').writeFileSync(${JSON.stringify(pidFile)}, String(process.pid)); setInterval(() => {}, 1000);`;
    const supervisor = nodeSpawn(process.execPath, [sim, 'enclave', '--pki-dir', pki, '--', 'run', '--config', bare, '--', process.execPath, '-e', script], {
      stdio: 'ignore',
    });
    let pid = 0;
    try {
      for (let i = 0; i < 100 && pid === 0; i++) {
        await new Promise((r) => setTimeout(r, 100));
        if (existsSync(pidFile)) pid = Number(readFileSync(pidFile, 'utf8'));
      }
      expect(pid).toBeGreaterThan(0);
      supervisor.kill('SIGKILL');
      const alive = () => {
        try {
          process.kill(pid, 0);
          return true;
        } catch {
          return false;
        }
      };
      for (let i = 0; i < 50 && alive(); i++) await new Promise((r) => setTimeout(r, 100));
      expect(alive()).toBe(false);
    } finally {
      supervisor.kill('SIGKILL');
      if (pid > 0) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone, as it should be
        }
      }
    }
  }, 30_000);

  it('kills a workload that ignores SIGTERM once the grace period is over', async () => {
    const script = "process.on('SIGTERM', () => {}); console.log('up'); setInterval(() => {}, 1000);";
    let sent = false;
    const r = await runEnclave(
      ['--config', configFile, ...node(script)],
      (out, signals) => {
        if (!sent && out.includes('up')) {
          sent = true;
          signals.emit('SIGTERM');
        }
      },
      300,
    );
    expect(r.stderr).toContain('SIGKILL');
    expect(r.status).toBe(137);
  });

  it("exits 127 when the command cannot be started, and runs the config's run.command when none is given", async () => {
    const missing = await runEnclave(['--config', configFile, '--', join(dir, 'no-such-program')]);
    expect(missing.status).toBe(127);
    expect(missing.stderr).toContain('workload not started');
    expect((await runEnclave(['--config', join(dir, 'with-command.json')])).status).toBe(5);
  });

  it('never starts the workload when a secret does not open: exit 1', async () => {
    const marker = join(dir, 'started');
    const r = await runEnclave(['--config', join(dir, 'wrong-item.json'), ...node(`require('fs').writeFileSync(${JSON.stringify(marker)}, 'x')`)]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('ERR_SEALED_SECRET_CONTEXT');
    expect(existsSync(marker)).toBe(false);
  });

  it('usage errors exit 2: no config, no command', async () => {
    expect((await runEnclave([])).status).toBe(2);
    expect((await runEnclave(['--config', configFile])).status).toBe(2);
    const help = await runEnclave(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('NITRO_DATAKEY_SECRETS_DIR');
  });
});

describe('nitro-enclave seal', () => {
  const sealIn = async (argv: string[], stdin = new Uint8Array(0)) => {
    let stdout = '';
    let stderr = '';
    const io = { stdout: (t: string | Uint8Array) => (stdout += String(t)), stderr: (t: string) => (stderr += t), readStdin: async () => stdin };
    const status = await nitroEnclave(['seal', '--config', configFile, '--key-id', 'app', '--name', 'db-password', ...argv], {
      io,
      signals: new EventEmitter() as unknown as NodeJS.Process,
      openNsm: () => stack.nsm,
    });
    return { status, stdout, stderr };
  };

  it('refuses an empty secret and an unreadable file as usage errors (exit 2), before any KMS call', async () => {
    const empty = join(dir, 'empty-secret');
    writeFileSync(empty, '');
    for (const args of [[empty], ['-'], [join(dir, 'no-such-file')]]) {
      const r = await sealIn(args);
      expect(r.status, args[0]).toBe(2);
      expect(r.stdout).toBe('');
    }
    expect((await sealIn([empty])).stderr).toMatch(/empty/);
  });

  it('writes --out atomically and never through a symlink planted there', async () => {
    const target = join(dir, 'victim');
    writeFileSync(target, 'keep me');
    const out = join(dir, 'sealed-out.json');
    symlinkSync(target, out);
    const secret = join(dir, 'to-seal');
    writeFileSync(secret, 'hunter2');
    const r = await sealIn(['--out', out, secret]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(readFileSync(target, 'utf8')).toBe('keep me');
    expect(lstatSync(out).isSymbolicLink()).toBe(false);
    expect(JSON.parse(readFileSync(out, 'utf8'))).toMatchObject({ keyId: stack.keyId });
  });

  it('--version N binds the version into the envelope, beside the name', async () => {
    const secret = join(dir, 'versioned');
    writeFileSync(secret, 'hunter3');
    const r = await sealIn(['--version', '7', secret]);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).encryptionContext).toEqual({ 'nitro-datakey:secret-name': 'db-password', 'nitro-datakey:secret-version': '7' });
  });
});
