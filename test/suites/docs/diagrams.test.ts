import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumSkipReason, launchChromium, projectRoot } from '../../support/index.js';
import { DIAGRAM_DIR, diagramSources, renderMermaid, svgHeader } from '../../support/diagrams.js';

/* The pictures in README.md and ARCHITECTURE.md stay true to their source and to the deployment's config. */
const read = (path: string): string => readFileSync(join(projectRoot(), path), 'utf8');
const diagrams = diagramSources();
const attestedCall = diagrams.find((d) => d.name === 'attested-call');

describe('docs/diagrams', () => {
  it.each(diagrams.map((d) => [d.name, d] as const))('%s.svg was rendered from the current %s.mmd (make diagrams)', (name, diagram) => {
    expect(read(`${DIAGRAM_DIR}/${name}.svg`).split('\n')[0]).toBe(svgHeader(diagram));
  });

  it('README.md and ARCHITECTURE.md show the attested call', () => {
    for (const doc of ['README.md', 'ARCHITECTURE.md']) expect(read(doc)).toContain('](docs/diagrams/attested-call.svg)');
  });

  it("names every vsock port of the parent's and the enclave's example configs", () => {
    const ports = new Set(
      [...read('eif/proxy.yaml').matchAll(/vsock:\d+:(\d+)/g), ...read('eif/example/enclave.json').matchAll(/vsock:\d+:(\d+)/g)].map((m) => m[1]),
    );
    expect(ports.size).toBeGreaterThanOrEqual(4);
    for (const port of ports) expect(attestedCall?.source).toContain(`vsock ${port}`);
  });
});

const skip = chromiumSkipReason();
describe.skipIf(skip !== undefined)(`rendering the sources with Mermaid${skip ? ` (${skip})` : ''}`, () => {
  let chrome: Awaited<ReturnType<typeof launchChromium>>;
  beforeAll(async () => {
    chrome = await launchChromium();
  }, 30_000);
  afterAll(async () => chrome?.close());

  it('renders each source without a syntax error, every node label in the picture', async () => {
    for (const diagram of diagrams) {
      const svg = await renderMermaid(chrome.browser, diagram);
      expect(svg).toContain('<svg');
      expect(svg).not.toContain('Syntax error');
      const labels = [...diagram.source.matchAll(/\w+\["([^"]+)"\]/g)].map((m) => (m[1] as string).split(' ')[0] as string);
      for (const word of labels) expect(svg).toContain(word);
    }
  }, 60_000);
});
