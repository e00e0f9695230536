import { createPublicKey, verify } from 'node:crypto';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { AttestationVerifier, decodeAttestation, parseCertificate, sigStructure1 } from '@nitro-datakey/shared';
import { readVector, vectorsAvailable } from '../support/index.js';
import { benchInterleaved, printTable, target, type BenchResult } from './harness.js';

/** Cold and warm attestation verification of a real AWS document beside one bare P-384 verify. */
export async function verifyBenchmarks(): Promise<void> {
  if (!vectorsAvailable()) {
    console.log('\n## Attestation verification\n\nSKIPPED: ../shared/vectors not found (set NITRO_DATAKEY_VECTORS).');
    return;
  }
  const file = 'evervault_ga.cbor';
  const bytes = readVector(`attestation/${file}`);
  const at = new Date(1695049410860);
  const { sign1, document } = decodeAttestation(bytes);
  const leafKey = createPublicKey({ key: Buffer.from(parseCertificate(document.certificate).spki), format: 'der', type: 'spki' });
  const toBeSigned = sigStructure1(sign1.protectedBytes, sign1.payload);

  const warmVerifier = new AttestationVerifier({ clock: () => at });
  const spkis = [...document.cabundle, document.certificate].map((der) => Buffer.from(parseCertificate(der).spki));
  const [bare, floor, cold, warm, ...baselines] = benchInterleaved([
    {
      name: 'bare P-384 crypto.verify (the document signature)',
      perRound: 100,
      fn: () => {
        if (!verify('sha384', toBeSigned, { key: leafKey, dsaEncoding: 'ieee-p1363' }, sign1.signature)) throw new Error('bad signature');
      },
    },
    {
      // What a cold verify cannot avoid: five ECDSA checks (four certificate links and the document) and five key imports.
      name: 'crypto floor of a cold verify: 5 x (SPKI import + P-384 verify)',
      perRound: 20,
      fn: () => {
        for (const spki of spkis) {
          const key = createPublicKey({ key: spki, format: 'der', type: 'spki' });
          verify('sha384', toBeSigned, { key, dsaEncoding: 'ieee-p1363' }, sign1.signature);
        }
      },
    },
    { name: `cold verifier: new AttestationVerifier + verify (${file})`, perRound: 20, fn: () => new AttestationVerifier({ clock: () => at }).verify(bytes) },
    { name: `warm verifier: verify again (${file})`, perRound: 100, fn: () => warmVerifier.verify(bytes) },
    ...(await baselineCases(bytes, at)),
  ]) as [BenchResult, BenchResult, BenchResult, BenchResult, ...BenchResult[]];
  printTable('Attestation verification (real AWS document, 4-certificate cabundle)', [bare, floor, cold, warm], bare);
  console.log(`- cold verify / its crypto floor: ${(cold.msPerOp / floor.msPerOp).toFixed(2)}x`);
  target('warm within 1.5x of a bare verify', warm.msPerOp <= 1.5 * bare.msPerOp);
  target('cold within 6x of a bare verify', cold.msPerOp <= 6 * bare.msPerOp);
  const [baseCold, baseWarm] = baselines;
  if (baseCold && baseWarm) {
    printTable('This build beside the baseline build, same rounds', [baseCold, cold, baseWarm, warm], baseCold);
    console.log(
      `- cold: this / baseline ${(cold.msPerOp / baseCold.msPerOp).toFixed(3)}; warm: this / baseline ${(warm.msPerOp / baseWarm.msPerOp).toFixed(3)}`,
    );
    target('within 10% of the baseline build, cold and warm', cold.msPerOp <= 1.1 * baseCold.msPerOp && warm.msPerOp <= 1.1 * baseWarm.msPerOp);
  }
}

interface VerifierModule {
  AttestationVerifier: new (options: { clock: () => Date }) => { verify(bytes: Uint8Array): unknown };
}

/**
 * `NITRO_DATAKEY_BENCH_BASELINE=PATH/shared/dist/index.js` (another build, e.g. a worktree of an
 * earlier commit): its verifier runs in the same interleaved rounds, so a change is measured against
 * what it replaced under the same machine noise.
 */
async function baselineCases(bytes: Uint8Array, at: Date): Promise<{ name: string; perRound: number; fn: () => void }[]> {
  const path = process.env['NITRO_DATAKEY_BENCH_BASELINE'];
  if (!path) return [];
  const { AttestationVerifier: Baseline } = (await import(pathToFileURL(resolve(path)).href)) as VerifierModule;
  const warm = new Baseline({ clock: () => at });
  return [
    { name: `baseline build: cold (${path})`, perRound: 20, fn: () => new Baseline({ clock: () => at }).verify(bytes) },
    { name: 'baseline build: warm', perRound: 100, fn: () => warm.verify(bytes) },
  ];
}
