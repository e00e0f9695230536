// Runs attestation cases through a verifier module and reports verdicts in one JSON shape. Plain,
// self-contained JavaScript on purpose: the same function runs in Node (read from here) and in
// Chromium (its source evaluated in the page), so what is compared is the verifier, not two harnesses.
export async function runCases(specifier, className, cases) {
  const lib = await import(specifier);
  const bytes = (b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  const results = [];
  for (const c of cases) {
    const options = { clock: () => new Date(c.at), ...(c.roots ? { trustedRootFingerprints: c.roots } : {}) };
    const e = c.expect ?? {};
    const expectations = {
      ...(e.nonce ? { nonce: bytes(e.nonce) } : {}),
      ...(e.userData ? { userData: bytes(e.userData) } : {}),
      ...(e.pcrs ? { pcrs: e.pcrs } : {}),
      ...(e.maxAgeMs !== undefined ? { maxAgeMs: e.maxAgeMs } : {}),
      ...(e.denyDebug ? { denyDebug: true } : {}),
      ...(e.publicKey ? { publicKey: true } : {}),
    };
    const started = performance.now();
    try {
      const doc = await new lib[className](options).verify(bytes(c.document), expectations);
      results.push({
        name: c.name,
        verdict: 'valid',
        moduleId: doc.moduleId,
        timestamp: doc.timestamp,
        pcr0: hex(doc.pcrs.get(0) ?? new Uint8Array()),
        pcrCount: doc.pcrs.size,
        debug: doc.debug,
        leaf: doc.leaf.fingerprint,
        leafNotAfter: doc.leaf.notAfter.toISOString(),
        root: doc.rootFingerprint,
        ms: performance.now() - started,
      });
    } catch (error) {
      results.push({
        name: c.name,
        verdict: 'rejected',
        code: error?.code ?? `untyped ${error?.name}: ${error?.message}`,
        typed: error instanceof lib.AttestationError,
        ms: performance.now() - started,
      });
    }
  }
  return results;
}
