// `node --import ./block-node-builtins.mjs ...`: what follows runs as in a browser or a worker as far
// as modules go. Every Node built-in import throws, packages resolve without the "node" condition
// (cbor-x then loads its browser build), and the global Buffer is gone.
import { register } from 'node:module';

register('./block-node-builtins-hooks.mjs', import.meta.url);
delete globalThis.Buffer;
