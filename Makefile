# nitro-datakey: `make test` on a new machine installs, builds, lints and runs every suite.
SHELL := /bin/bash
.DEFAULT_GOAL := test
.PHONY: install build native-emulation lint format test bench demo demo-native diagrams eif clean distclean

# npm ci writes node_modules/.package-lock.json: reinstall only when the lockfile or a manifest changes.
INSTALL_STAMP := node_modules/.package-lock.json
MANIFESTS := package.json package-lock.json $(wildcard */package.json */*/package.json)

install: $(INSTALL_STAMP)

$(INSTALL_STAMP): $(MANIFESTS)
	npm ci --no-audit --no-fund

# The project's own binaries, called directly: npx would add npm's own warnings to every command's stderr.
BIN := node_modules/.bin

build: install
	$(BIN)/tsc -b
	node scripts/bundle-web.mjs

# Test-only C: the LD_PRELOAD stand-in for /dev/nsm and AF_VSOCK, and the check of the addon's kernel
# ABI against the kernel headers (a mismatch fails this build). Never shipped in a package.
EMU_DIR := test/native/build
EMU_CFLAGS := -std=c11 -Wall -Wextra -Werror -O2 -D_GNU_SOURCE
CC ?= cc
# Written under a temporary name and renamed: test files that build it at once never see half a file.
EMU_LINK = $(CC) $(EMU_CFLAGS) -o $@.$$$$.tmp $(1) && mv -f $@.$$$$.tmp $@

native-emulation: $(EMU_DIR)/libnitro-kernel-shim.so $(EMU_DIR)/abi-check $(EMU_DIR)/vsock-probe

$(EMU_DIR)/libnitro-kernel-shim.so: test/native/csrc/kernel-shim.c test/native/csrc/nsm-uapi.h
	@mkdir -p $(@D)
	$(call EMU_LINK,-shared -fPIC -pthread $< -ldl)

$(EMU_DIR)/vsock-probe: test/native/csrc/vsock-probe.c
	@mkdir -p $(@D)
	$(call EMU_LINK,$< -ldl)

$(EMU_DIR)/abi-check: test/native/csrc/abi-check.c test/native/csrc/nsm-uapi.h shared/native/csrc/nsm-abi.h
	@mkdir -p $(@D)
	$(call EMU_LINK,$<)

# Biome (format, lint, cognitive complexity at most 25 in all product code: no exception),
# the 160-column limit, no import cycles, no product file over 400 lines, no unused
# file, dependency or export (knip), and a type check of every package's unit tests.
lint: build
	$(BIN)/biome check .
	node scripts/check-line-length.mjs
	node scripts/check-import-cycles.mjs
	node scripts/check-file-size.mjs
	$(BIN)/knip
	$(BIN)/tsc -p tsconfig.unit-tests.json
	$(BIN)/tsc -p shared/commands/page

format: install
	$(BIN)/biome check --write .

# Also prints the plain "tests: N passed, N failed, N skipped" line that CI reads, after one line per
# skipped suite with its reason. Output that is not a terminal (a CI log) gets no colour codes: vitest
# colours whenever CI is set, so NO_COLOR is set for it unless FORCE_COLOR asks otherwise. Coverage of product
# code is gated (thresholds in vitest.config.ts).
test: build native-emulation lint
	@status=0; if [ ! -t 1 ] && [ -z "$${FORCE_COLOR:-}" ]; then export NO_COLOR=1; fi; \
	  $(BIN)/vitest run --coverage --reporter=default --reporter=json --outputFile.json=test-results.json || status=$$?; \
	  node scripts/test-summary.mjs test-results.json || status=1; exit $$status

# The pictures of docs/diagrams/*.mmd as SVG, rendered by Mermaid in the installed Chromium (a test
# fails when a picture is older than its source).
diagrams: build
	node test/dist/tools/render-diagrams.js

# BENCH=verify (or another suite name) runs one suite. Nothing is installed: a missing tool skips its part.
bench: build
	node test/dist/bench/run.js $(BENCH)

# The attested data-key path end to end on this machine: local KMS (TLS) -> parent proxy (loopback TCP
# in place of vsock) -> enclave app on a simulated NSM. Prints a report, cleans up, exits 0.
demo: build
	@node test/devkit/dist/demo/main.js

# The same path with the real addon on both sides: the enclave reaches the NSM through its ioctl and
# the proxy through vsock connect(); the proxy accepts on vsock. The kernel interfaces are emulated
# (test/native, LD_PRELOAD), so it runs here. CI runs it through its test.
demo-native: build native-emulation
	@node test/dist/native/demo-native.js --shim $(EMU_DIR)/libnitro-kernel-shim.so --app eif/example/app.mjs

# Builds the enclave image on a host with docker and nitro-cli (see eif/README.md).
eif:
	eif/build.sh

clean:
	$(BIN)/tsc -b --clean 2>/dev/null || true
	rm -rf shared/dist shared/native/dist enclave/dist parent-proxy/dist test/dist test/devkit/dist $(EMU_DIR)

distclean: clean
	rm -rf node_modules shared/native/build
