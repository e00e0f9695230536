import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromiumSkipReason, launchChromium, projectRoot } from '../support/index.js';
import { DIAGRAM_DIR, diagramSources, renderMermaid } from '../support/diagrams.js';

// `make diagrams`: docs/diagrams/NAME.mmd -> NAME.svg, which README.md and ARCHITECTURE.md show.
const skip = chromiumSkipReason();
if (skip !== undefined) {
  console.error(`make diagrams: ${skip}`);
  process.exit(1);
}
const chrome = await launchChromium();
try {
  for (const diagram of diagramSources()) {
    const path = join(projectRoot(), DIAGRAM_DIR, `${diagram.name}.svg`);
    writeFileSync(path, await renderMermaid(chrome.browser, diagram));
    console.log(`wrote ${path}`);
  }
} finally {
  await chrome.close();
}
