/**
 * The environment that puts a child process on the test build's emulated kernel (test/native's
 * LD_PRELOAD shim): `cid` on the emulated vsock network `network` (none: no vsock at all), and with
 * `nsmSocket`, /dev/nsm answered by "nitro-sim nsm-device" on that socket. The one place that names
 * the shim's variables.
 *
 * @example
 * ```ts
 * spawn(process.execPath, ['app.js'], { env: kernelShimEnv({ shim, network: 'demo', cid: 16, nsmSocket: '/tmp/nsm.sock' }) });
 * ```
 */
export function kernelShimEnv(options: {
  readonly shim: string;
  readonly network: string;
  readonly cid?: number | undefined;
  readonly nsmSocket?: string | undefined;
  readonly base?: NodeJS.ProcessEnv;
}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...(options.base ?? process.env), LD_PRELOAD: options.shim, NITRO_EMU_VSOCK_NS: options.network };
  if (options.cid !== undefined) env['NITRO_EMU_VSOCK_CID'] = String(options.cid);
  if (options.nsmSocket !== undefined) env['NITRO_EMU_NSM_SOCKET'] = options.nsmSocket;
  return env;
}
