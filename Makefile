# The README's two commands: `make run` and `make test`. Both install what is missing first.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
# cargo's tools, and wasm-opt from npm's binaryen for release builds (Debian's breaks
# hydration).
export PATH := $(HOME)/.cargo/bin:$(CURDIR)/end2end/node_modules/.bin:$(PATH)

.PHONY: run test e2e release measure bench

## Build and start Gatehouse on http://127.0.0.1:3000: embedded SQLite under ./data,
## demo organisation on first start, development sign-in.
run:
	scripts/setup.sh --for run
	cargo leptos build
	GATEHOUSE_ENV=$${GATEHOUSE_ENV:-development} \
	GATEHOUSE_DEV_SIGN_IN=$${GATEHOUSE_DEV_SIGN_IN:-true} \
	GATEHOUSE_SEED_DEMO=$${GATEHOUSE_SEED_DEMO:-true} \
	GATEHOUSE_SITE_ROOT=$${GATEHOUSE_SITE_ROOT:-target/site} \
	./target/debug/gatehouse serve

## Formatting, lints, unit and integration tests on SQLite (and PostgreSQL when
## GATEHOUSE_TEST_POSTGRES_URL is set), browser tests on the release build.
## (`make e2e` runs the browser tests on a debug build.)
test:
	scripts/test.sh

## Browser tests only, against a fresh debug build.
e2e:
	scripts/setup.sh --for test
	cargo leptos build
	cd end2end && npx playwright test

## The optimised build: target/release/gatehouse and target/site.
release:
	scripts/setup.sh --for run
	cargo leptos build --release

## Figures for the notes: wasm size (raw, gzip) and idle memory of a running server.
measure:
	scripts/measure.sh

## Benchmarks that print figures: access ending one after another, verified gone from a real
## SCIM server and LDAP directory (BENCH_STEADY, default 200); then N assignments ending at
## one instant, removed from the SCIM server and verified (BENCH_N, default 500). Then access
## reviews at company size (BENCH_PEOPLE, default 10 000 people holding 100 packages each:
## 1 000 000 assignments) on SQLite and PostgreSQL. Then HR inbound: a SCIM Bulk of
## BENCH_HR_PEOPLE (default 10 000) people, a filtered page and a PATCH, on both.
bench:
	scripts/setup.sh --for test
	cargo bench -p server --bench expiry
	cargo bench -p server --bench reviews
	cargo bench -p server --bench hr
