import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { bringUpLoopback } from '@nitro-datakey/native';

/*
 * bringUpLoopback() replaces iproute2 in the enclave image. A new network namespace starts as an
 * enclave does, with lo down: there the addon must bring it up and 127.0.0.1 must accept a listener.
 */

const probe = spawnSync('unshare', ['-n', 'true'], { encoding: 'utf8' });
const canUnshare = probe.status === 0;
const why = probe.error?.message ?? probe.stderr?.trim() ?? '';
const skipReason = `skipped: "unshare -n" is not available or not permitted here (${why}); it needs util-linux and CAP_SYS_ADMIN`;

describe('bringUpLoopback', () => {
  it('changes nothing where lo is already up', () => {
    expect(bringUpLoopback()).toBe(false);
  });

  it.skipIf(!canUnshare)(`brings lo up in a fresh network namespace, where 127.0.0.1 then accepts a listener${canUnshare ? '' : ` (${skipReason})`}`, () => {
    const script = `
      import { bringUpLoopback } from '@nitro-datakey/native';
      import { connect, createServer } from 'node:net';
      // A round trip to a listener on 127.0.0.1: with lo down no packet gets through.
      const roundTrip = () => new Promise((resolve) => {
        const server = createServer((s) => s.end('pong'));
        server.on('error', (e) => resolve(e.code));
        server.listen(0, '127.0.0.1', () => {
          const c = connect(server.address().port, '127.0.0.1');
          const timer = setTimeout(() => { c.destroy(); server.close(); resolve('timeout'); }, 1000);
          c.on('data', (d) => { clearTimeout(timer); c.destroy(); server.close(); resolve(String(d)); });
          c.on('error', (e) => { clearTimeout(timer); server.close(); resolve(e.code); });
        });
      });
      const before = await roundTrip();
      const changed = bringUpLoopback();
      console.log(JSON.stringify({ before, changed, again: bringUpLoopback(), after: await roundTrip() }));`;
    const r = spawnSync('unshare', ['-n', process.execPath, '--input-type=module', '-e', script], { encoding: 'utf8', cwd: process.cwd() });
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout);
    expect(out.before).not.toBe('pong');
    expect(out).toMatchObject({ changed: true, again: false, after: 'pong' });
  });
});
