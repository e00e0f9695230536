# nitro-datakey: `make test` on a new machine installs, builds and runs every suite.
SHELL := /bin/bash
.DEFAULT_GOAL := test
.PHONY: install build test bench demo clean distclean

# npm ci writes node_modules/.package-lock.json: reinstall only when the lockfile or a manifest changes.
INSTALL_STAMP := node_modules/.package-lock.json
MANIFESTS := package.json package-lock.json $(wildcard */package.json)

install: $(INSTALL_STAMP)

$(INSTALL_STAMP): $(MANIFESTS)
	npm ci --no-audit --no-fund

build: install
	npx tsc -b

# Also prints the plain "tests: N passed, N failed, N skipped" line that CI reads.
test: build
	@status=0; npx vitest run --reporter=default --reporter=json --outputFile.json=test-results.json || status=$$?; \
	  node scripts/test-summary.mjs test-results.json; exit $$status

# BENCH=verify (or another suite name) runs one suite.
bench: build
	node test/dist/bench/run.js $(BENCH)

demo: build
	@echo "make demo will run the attested data-key path end to end on one machine, once the enclave"
	@echo "side exists (issue 7): local KMS with TLS trusting a simulated Nitro PKI -> parent proxy on"
	@echo "loopback TCP -> enclave app on the simulated NSM -> GenerateDataKey with Recipient -> seal,"
	@echo "restart, open a secret -> refusals for a foreign PCR0 and for a KMS that returns Plaintext."
	@echo
	@echo "What runs today: verifying a real AWS attestation document offline."
	npx nitro-datakey verify --at 1695049410860 ../shared/vectors/attestation/evervault_ga.cbor || \
	  echo "(../shared/vectors not present: point nitro-datakey verify at any attestation document)"

clean:
	npx tsc -b --clean 2>/dev/null || true
	rm -rf shared/dist enclave/dist parent-proxy/dist test/dist

distclean: clean
	rm -rf node_modules enclave/build
