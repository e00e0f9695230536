// `node verify-cases-cli.mjs SPECIFIER CLASS < cases.json`: the cases' verdicts as JSON on stdout.
// Imports nothing of Node's itself, so it also runs under block-node-builtins.mjs.
import { runCases } from './verify-cases.mjs';

const [specifier, className] = process.argv.slice(2);
const decoder = new TextDecoder();
let text = '';
for await (const chunk of process.stdin) text += decoder.decode(chunk, { stream: true });
text += decoder.decode();
process.stdout.write(`${JSON.stringify(await runCases(specifier, className, JSON.parse(text)))}\n`);
