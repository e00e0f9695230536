#!/usr/bin/env node
// Launcher kept in git with its executable bit: npm links bins before `tsc -b` writes dist/.
import '../dist/cli/nitro-kms-local-main.js';
