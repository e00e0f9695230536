import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '@nitro-datakey/parent-proxy';
import { projectRoot } from '../../support/index.js';

/*
 * README code is code. Each ```ts block is type-checked against the built packages, as a module of its
 * own: what it imports must exist and be called as it is written (names the snippet leaves to the reader,
 * such as `response` or `nonce`, are the only thing allowed to be unknown). The ```yaml proxy config is
 * read by the proxy. Every command line of the ```sh blocks that runs one of our bins uses a command and
 * options that command's --help lists.
 */
const root = projectRoot();
const FREE_NAME = new Set([2304, 2552, 2580, 18004]); // Cannot find name (and its "did you mean" forms): the reader's own values
const fenced = (file: string, lang: string) =>
  [...readFileSync(join(root, file), 'utf8').matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1] as string);

function typeErrors(code: string, name: string): string[] {
  const base = ts.readConfigFile(join(root, 'tsconfig.base.json'), (p) => ts.sys.readFile(p)).config as { compilerOptions: object };
  const { options } = ts.parseJsonConfigFileContent(
    { compilerOptions: { ...base.compilerOptions, noEmit: true, composite: false, declaration: false } },
    ts.sys,
    root,
  );
  // A module of its own at the repository root (ESM: top-level await), resolved against the workspace packages.
  const file = join(root, `${name}.mts`);
  const host = ts.createCompilerHost({ ...options, noUnusedLocals: false, noUnusedParameters: false });
  const read = host.readFile.bind(host);
  const exists = host.fileExists.bind(host);
  host.readFile = (p) => (p === file ? code : read(p));
  host.fileExists = (p) => p === file || exists(p);
  const getSource = host.getSourceFile.bind(host);
  host.getSourceFile = (p, lang) => (p === file ? ts.createSourceFile(p, code, lang) : getSource(p, lang));
  const program = ts.createProgram([file], { ...options, noUnusedLocals: false, noUnusedParameters: false }, host);
  return ts
    .getPreEmitDiagnostics(program)
    .filter((d) => d.file?.fileName === file && !FREE_NAME.has(d.code))
    .map((d) => `TS${d.code}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`);
}

describe('README.md code', () => {
  const blocks = fenced('README.md', 'ts');
  it.each(blocks.map((code, i) => [i + 1, code.split('\n')[0] as string, code]))('ts block %i (%s) type-checks against the packages', (i, _, code) => {
    expect(typeErrors(code, `__readme_snippet_${i}`)).toEqual([]);
  });

  it('the proxy configuration reads as the proxy reads it', () => {
    const [yaml] = fenced('README.md', 'yaml');
    expect(yaml).toBeDefined();
    expect(parseConfigText(yaml as string, 'README.md yaml').routes.length).toBeGreaterThan(0);
  });
});

const BINS: Record<string, string> = {
  'nitro-datakey': 'shared/commands/bin/nitro-datakey.js',
  'nitro-enclave': 'enclave/bin/nitro-enclave.js',
  'nitro-parent-proxy': 'parent-proxy/bin/nitro-parent-proxy.js',
  'nitro-kms-local': 'test/devkit/bin/nitro-kms-local.js',
  'nitro-sim': 'test/devkit/bin/nitro-sim.js',
};
const helps = new Map<string, string>();
function help(bin: string, command: string[]): string {
  const key = [bin, ...command].join(' ');
  if (!helps.has(key)) helps.set(key, spawnSync(process.execPath, [join(root, BINS[bin] as string), ...command, '--help'], { encoding: 'utf8' }).stdout);
  return helps.get(key) as string;
}

/** Each invocation of one of our bins in a shell block: the bin, its words, where it was found. */
function invocations(file: string): { bin: string; words: string[]; line: string }[] {
  const out: { bin: string; words: string[]; line: string }[] = [];
  for (const block of fenced(file, 'sh')) {
    for (const line of block.replace(/\\\n\s*/g, ' ').split('\n')) {
      const code = line.replace(/\s#.*$/, '');
      for (const segment of code.split(/\||&&|;|\$\(/)) {
        const words = segment.trim().split(/\s+/).filter(Boolean);
        while (words.length > 0 && (/^[A-Z_]+=/.test(words[0] as string) || words[0] === 'npx' || words[0] === 'sudo')) words.shift();
        const bin = words.shift();
        if (bin !== undefined && Object.hasOwn(BINS, bin)) out.push({ bin, words, line: line.trim() });
      }
    }
  }
  return out;
}

describe.each(['README.md', 'eif/README.md'])('%s shell commands', (file) => {
  it("use commands and options each command's --help lists", () => {
    const found = invocations(file);
    expect(found.length).toBeGreaterThan(0);
    for (const { bin, words, line } of found) {
      // The command: the leading words that name one (nitro-sim pki init), as far as their help says so.
      const command: string[] = [];
      for (const word of words) {
        if (word.startsWith('-') || !help(bin, [...command, word]).startsWith(`Usage: ${[bin, ...command, word].join(' ')}`)) break;
        command.push(word);
      }
      // nitro-sim enclave runs nitro-enclave after `--`: those options are nitro-enclave's, checked from their own lines.
      const own = words.indexOf('--') < 0 ? words : words.slice(0, words.indexOf('--'));
      const text = help(bin, command);
      for (const flag of own.filter((w) => /^--[a-z]/.test(w)).map((w) => w.replace(/=.*$/, ''))) {
        expect(text.includes(flag), `${file}: "${line}": ${[bin, ...command].join(' ')} --help lists no ${flag}`).toBe(true);
      }
    }
  });
});
