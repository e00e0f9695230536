import {
  type AttestationDocument,
  AWS_NITRO_ROOT_G1_SHA256,
  decodeAttestation,
  isDebugMode,
  NitroDatakeyError,
  parseCertificate,
  toHex,
  WebAttestationVerifier,
} from '@nitro-datakey/shared/web';
import { documentFromFile, documentFromText } from './input.js';
import { type CertificateView, describeBytes, renderChain, renderFields, renderPcrs, renderRule, renderVerdict } from './render.js';

// The verifier page: everything happens here, in the browser, with WebCrypto. The server that
// delivers it (`nitro-datakey verify --serve`) forbids the page any request (connect-src 'none').

const byId = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

async function fingerprint(der: Uint8Array): Promise<string> {
  return toHex(new Uint8Array(await crypto.subtle.digest('SHA-256', new Uint8Array(der))));
}

function failureOf(error: unknown): { code: string; message: string } {
  if (error instanceof NitroDatakeyError) return { code: error.code, message: error.message };
  return { code: 'ERR_UNEXPECTED', message: error instanceof Error ? error.message : String(error) };
}

/** The verification time the form asks for; the document's own time needs the decoded document. */
function verificationTime(doc: AttestationDocument | null): number {
  const choice = (document.querySelector('input[name=at]:checked') as HTMLInputElement | null)?.value ?? 'document';
  if (choice === 'document' && doc !== null) return doc.timestamp;
  if (choice === 'given') {
    const at = Date.parse(`${byId<HTMLInputElement>('at').value}Z`);
    if (Number.isFinite(at)) return at;
  }
  return Date.now();
}

async function certificateViews(doc: AttestationDocument): Promise<CertificateView[]> {
  const ders = [...doc.cabundle, doc.certificate];
  const role = (i: number): string => (i === 0 ? 'root (cabundle[0])' : i === ders.length - 1 ? 'leaf: signed this document' : `intermediate (cabundle[${i}])`);
  return Promise.all(
    ders.map(async (der, i) => {
      const fp = await fingerprint(der);
      try {
        return { role: role(i), cert: parseCertificate(der), fingerprint: fp };
      } catch (e) {
        return { role: role(i), cert: null, fingerprint: fp, error: failureOf(e).message };
      }
    }),
  );
}

async function show(bytes: Uint8Array): Promise<void> {
  const result = byId('result');
  const verdict = byId('verdict');
  verdict.dataset.verdict = '';
  result.hidden = false;
  let doc: AttestationDocument | null = null;
  try {
    doc = decodeAttestation(bytes).document;
  } catch {
    // Not even decodable: the verifier below names the rule.
  }
  const at = verificationTime(doc);
  const root = byId<HTMLInputElement>('root').value.trim();
  let failure: { code: string; message: string } | null = null;
  try {
    const verifier = new WebAttestationVerifier({ trustedRootFingerprints: [root === '' ? AWS_NITRO_ROOT_G1_SHA256 : root], clock: () => new Date(at) });
    await verifier.verify(bytes);
  } catch (e) {
    failure = failureOf(e);
  }
  renderRule(byId('rule'), failure);
  renderChain(byId('chain'), doc ? await certificateViews(doc) : [], at);
  renderPcrs(byId('pcrs').querySelector('tbody') as HTMLElement, doc?.pcrs ?? new Map(), doc ? isDebugMode(doc) : false);
  renderFields(byId('fields'), doc ? documentFields(doc, at) : []);
  const when = new Date(at).toISOString();
  renderVerdict(verdict, failure === null, failure === null ? `VALID as of ${when}` : `REJECTED as of ${when}: ${failure.code}`);
}

function documentFields(doc: AttestationDocument, at: number): [string, string][] {
  return [
    ['module id', doc.moduleId],
    ['timestamp', `${new Date(doc.timestamp).toISOString()} (${doc.timestamp} ms)`],
    ['verified as of', new Date(at).toISOString()],
    ['digest', doc.digest],
    ['debug mode', isDebugMode(doc) ? 'yes: PCR0-2 are zero, the measurements prove nothing' : 'no'],
    ['user data', describeBytes(doc.userData)],
    ['nonce', describeBytes(doc.nonce)],
    ['public key', describeBytes(doc.publicKey)],
  ];
}

function reportInputError(error: unknown): void {
  byId('result').hidden = false;
  renderRule(byId('rule'), failureOf(error));
  renderChain(byId('chain'), [], Date.now());
  renderVerdict(byId('verdict'), false, 'REJECTED: not a document');
}

function verifyText(): void {
  let bytes: Uint8Array;
  try {
    bytes = documentFromText(byId<HTMLTextAreaElement>('text').value);
  } catch (e) {
    reportInputError(e);
    return;
  }
  void show(bytes);
}

async function verifyFile(file: File): Promise<void> {
  try {
    await show(documentFromFile(new Uint8Array(await file.arrayBuffer())));
  } catch (e) {
    reportInputError(e);
  }
}

function wire(): void {
  byId('verify').addEventListener('click', verifyText);
  const input = byId<HTMLInputElement>('file');
  input.addEventListener('change', () => {
    const file = input.files?.[0];
    if (file) void verifyFile(file);
  });
  const drop = byId('drop');
  drop.addEventListener('dragover', (event) => {
    event.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (event) => {
    event.preventDefault();
    drop.classList.remove('over');
    const file = event.dataTransfer?.files[0];
    if (file) void verifyFile(file);
  });
}

wire();
