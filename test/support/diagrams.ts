import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Browser } from 'puppeteer-core';
import { projectRoot } from './vectors.js';

export const DIAGRAM_DIR = 'docs/diagrams';

export interface DiagramSource {
  readonly name: string;
  readonly source: string;
  /** SHA-256 of the source, recorded in the rendered SVG: a stale picture is one whose hash differs. */
  readonly sha256: string;
}

export function diagramSources(): DiagramSource[] {
  const dir = join(projectRoot(), DIAGRAM_DIR);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.mmd'))
    .map((f) => {
      const source = readFileSync(join(dir, f), 'utf8');
      return { name: f.slice(0, -'.mmd'.length), source, sha256: createHash('sha256').update(source).digest('hex') };
    });
}

/** The comment a rendered SVG starts with, naming its source and that source's hash. */
export const svgHeader = (d: DiagramSource): string => `<!-- rendered from ${DIAGRAM_DIR}/${d.name}.mmd, sha256 ${d.sha256}, by make diagrams -->`;

/**
 * Renders Mermaid source to SVG in headless Chromium with mermaid's own browser bundle: plain SVG text
 * (no HTML labels), so the picture shows wherever an SVG does, and fixed ids. Throws on a syntax error.
 */
export async function renderMermaid(browser: Browser, diagram: DiagramSource): Promise<string> {
  const page = await browser.newPage();
  try {
    await page.setContent('<!doctype html><html><body></body></html>');
    await page.addScriptTag({ path: createRequire(import.meta.url).resolve('mermaid/dist/mermaid.min.js') });
    const svg = (await page.evaluate(
      `(async (source) => {
        mermaid.initialize({
          startOnLoad: false, deterministicIds: true, securityLevel: 'strict', theme: 'neutral',
          htmlLabels: false, flowchart: { htmlLabels: false, wrappingWidth: 260 },
        });
        return (await mermaid.render('diagram', source)).svg;
      })(${JSON.stringify(diagram.source)})`,
    )) as string;
    return `${svgHeader(diagram)}\n${svg}\n`;
  } finally {
    await page.close();
  }
}
