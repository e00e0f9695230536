/**
 * Routes process warnings (deprecations, the AWS SDK's Node version notice) into the same JSON log
 * lines a service writes, instead of Node's plain-text stderr output.
 */
export function logWarningsAsJson(write: (line: string) => void = (line) => process.stderr.write(line)): void {
  process.removeAllListeners('warning'); // Node's default listener prints text
  process.on('warning', (warning: Error & { code?: string }) => {
    const message = warning.message.replace(/\s+/g, ' ').trim();
    write(`${JSON.stringify({ time: new Date().toISOString(), level: 'warn', msg: 'process warning', name: warning.name, ...(warning.code ? { code: warning.code } : {}), warning: message })}\n`);
  });
}
