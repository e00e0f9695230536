/*
 * The first process of every supervised workload: `node workload-launcher.js SUPERVISOR_PID FILE
 * [ARG]...`. It arms SIGKILL-on-parent-death and becomes FILE (execvp): the workload then has the
 * launcher's pid, gets the supervisor's signals directly, and dies with the supervisor, however the
 * supervisor ends (SIGKILL, a crash), so it never runs on orphaned with the opened secrets.
 */
import { loadNativeAddon } from '@nitro-datakey/native';

const [supervisor, file, ...args] = process.argv.slice(2);
try {
  if (supervisor === undefined || file === undefined || !/^[1-9]\d*$/.test(supervisor))
    throw new Error('usage: workload-launcher SUPERVISOR_PID FILE [ARG]...');
  loadNativeAddon().execWithParentDeathSignal(Number(supervisor), file, args);
} catch (e) {
  const error = e as NodeJS.ErrnoException;
  process.stderr.write(`nitro-enclave run: workload not started: ${file ?? ''}: ${error.code ?? error.message}\n`);
  process.exit(127);
}
