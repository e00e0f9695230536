#!/usr/bin/env node
// Launcher kept in git with its executable bit: npm links bins before `tsc -b` writes dist/.
import '../dist/nitro-datakey.js';
