# nitro-datakey: `make test` on a new machine installs, builds, lints and runs every suite.
SHELL := /bin/bash
.DEFAULT_GOAL := test
.PHONY: install build lint format test test-enclave bench demo eif clean distclean

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

# Biome (format and lint), the 160-column limit, and a type check of the enclave's own tests.
lint: build
	$(BIN)/biome check .
	node scripts/check-line-length.mjs
	$(BIN)/tsc -p enclave/test

format: install
	$(BIN)/biome check --write .

# The enclave package's tests with the dev kit and the suites removed from node_modules.
test-enclave: build
	scripts/test-enclave-alone.sh

# Also prints the plain "tests: N passed, N failed, N skipped" line that CI reads, after one line per
# skipped suite with its reason.
test: build lint test-enclave
	@status=0; $(BIN)/vitest run --reporter=default --reporter=json --outputFile.json=test-results.json || status=$$?; \
	  node scripts/test-summary.mjs test-results.json; exit $$status

# BENCH=verify (or another suite name) runs one suite. Nothing is installed: a missing tool skips its part.
bench: build
	node test/dist/bench/run.js $(BENCH)

# The attested data-key path end to end on this machine: local KMS (TLS) -> parent proxy (loopback TCP
# in place of vsock) -> enclave app on a simulated NSM. Prints a report, cleans up, exits 0.
demo: build
	@node test/devkit/dist/demo/main.js

# Builds the enclave image on a host with docker and nitro-cli (see eif/README.md).
eif:
	eif/build.sh

clean:
	$(BIN)/tsc -b --clean 2>/dev/null || true
	rm -rf shared/dist shared/native/dist enclave/dist parent-proxy/dist test/dist test/devkit/dist

distclean: clean
	rm -rf node_modules shared/native/build
