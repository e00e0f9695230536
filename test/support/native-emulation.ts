import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from './vectors.js';

/** The test build's native emulation (test/native): the LD_PRELOAD shim and its two probe programs. */
export interface NativeEmulation {
  readonly shim: string;
  readonly abiCheck: string;
  readonly vsockProbe: string;
}

/**
 * Builds the emulation with "make native-emulation" (a compile of three small C files, up to date after
 * "make test"; nothing is installed) and returns its paths, or why it cannot be had here.
 */
export function nativeEmulation(): NativeEmulation | { readonly skip: string } {
  const root = projectRoot();
  const make = spawnSync('make', ['-s', 'native-emulation'], { cwd: root, encoding: 'utf8' });
  if (make.error || make.status !== 0) {
    const why = make.error?.message ?? make.stderr.trim().split('\n').slice(-1)[0] ?? '';
    return { skip: `skipped: "make native-emulation" failed (${why}); it needs make and a C compiler, as the addon does` };
  }
  const dir = join(root, 'test', 'native', 'build');
  return { shim: join(dir, 'libnitro-kernel-shim.so'), abiCheck: join(dir, 'abi-check'), vsockProbe: join(dir, 'vsock-probe') };
}
