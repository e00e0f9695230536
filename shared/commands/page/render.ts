import { type Certificate, toHex } from '@nitro-datakey/shared/web';
import { PCR_NAMES, RULES } from './meaning.js';

// Every value from the document goes in as text (textContent), never as markup: the document is untrusted.

export interface CertificateView {
  readonly role: string;
  readonly cert: Certificate | null;
  readonly fingerprint: string;
  readonly error?: string;
}

function element<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className !== undefined) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

export function renderVerdict(target: HTMLElement, accepted: boolean, summary: string): void {
  target.dataset.verdict = accepted ? 'accepted' : 'rejected';
  target.textContent = summary;
}

export function renderRule(target: HTMLElement, failure: { code: string; message: string } | null): void {
  target.hidden = failure === null;
  if (failure === null) return;
  (target.querySelector('.rule-code') as HTMLElement).textContent = failure.code;
  (target.querySelector('.rule-message') as HTMLElement).textContent = failure.message;
  (target.querySelector('.rule-meaning') as HTMLElement).textContent = RULES[failure.code] ?? '';
}

export function renderChain(target: HTMLElement, views: readonly CertificateView[], at: number): void {
  target.replaceChildren(...views.map((view) => certificateItem(view, at)));
}

function certificateItem(view: CertificateView, at: number): HTMLLIElement {
  const item = element('li', 'cert');
  item.append(element('div', 'cert-role', view.role));
  if (view.cert === null) {
    item.append(element('div', 'cert-subject', 'unreadable certificate'), element('div', 'cert-detail', view.error ?? ''));
    return item;
  }
  const { cert } = view;
  const from = new Date(cert.notBefore).toISOString();
  const to = new Date(cert.notAfter).toISOString();
  item.append(
    element('div', 'cert-subject', cert.subjectName),
    element('div', 'cert-detail', `issuer: ${cert.issuerName}`),
    element('div', 'cert-detail', `SHA-256 ${view.fingerprint}`),
    validityBar(cert.notBefore, cert.notAfter, at),
    element('div', 'cert-detail', `valid ${from} to ${to}`),
  );
  return item;
}

/** The validity period as a bar, and where the verification time falls on it. */
function validityBar(notBefore: number, notAfter: number, at: number): HTMLElement {
  const bar = element('div', at < notBefore || at > notAfter ? 'bar outside' : 'bar');
  const position = Math.min(1, Math.max(0, (at - notBefore) / Math.max(1, notAfter - notBefore)));
  const marker = element('div', 'now');
  marker.style.left = `calc(${(position * 100).toFixed(2)}% - 1px)`;
  marker.title = `verification time ${new Date(at).toISOString()}`;
  bar.append(marker);
  return bar;
}

export function renderPcrs(body: HTMLElement, pcrs: ReadonlyMap<number, Uint8Array>, debug: boolean): void {
  const rows = [...pcrs.entries()]
    .sort(([a], [b]) => a - b)
    .map(([index, value]) => {
      // Zero PCR0-2 mean debug mode (flagged); other zero PCRs are just unused.
      const zero = value.every((byte) => byte === 0);
      const row = element('tr', zero ? (debug && index <= 2 ? 'zero' : 'unused') : undefined);
      row.dataset.pcr = String(index);
      const name = element('td', 'pcr-name', PCR_NAMES[index] ?? '');
      if (debug && index <= 2) name.append(element('span', 'flag', 'debug mode: zero'));
      row.append(element('td', 'pcr-index', `PCR${index}`), name, element('td', 'pcr-value', toHex(value)));
      return row;
    });
  body.replaceChildren(...rows);
}

export function renderFields(target: HTMLElement, fields: readonly (readonly [string, string])[]): void {
  target.replaceChildren(...fields.flatMap(([name, value]) => [element('dt', undefined, name), element('dd', undefined, value)]));
}

/** Hex, with the text too when the bytes are printable (user data often is). */
export function describeBytes(bytes: Uint8Array | null): string {
  if (bytes === null) return '(absent)';
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  const printable = /^[\x20-\x7e]*$/.test(text);
  return `${bytes.byteLength} bytes: ${toHex(bytes)}${printable && bytes.byteLength > 0 ? ` ("${text}")` : ''}`;
}
